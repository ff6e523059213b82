import Logging
import ServiceLifecycle
import ToolHost

/// Hot add as a `Service`: watches the plugins directory from the start of the group to its graceful shutdown.
/// A directory that cannot be watched is logged as a warning and the daemon goes on without hot add.
public struct WatcherService: Service {
    private let host: ToolHost
    private let libraries: Bool
    private let logger: Logger

    /// - Parameters:
    ///   - host: the host whose plugins directory is watched.
    ///   - libraries: whether a library written in a plugin folder reloads it too (``PluginDirectoryWatcher``).
    ///   - logger: where the watch problems and changes are logged.
    public init(host: ToolHost, libraries: Bool = false, logger: Logger) {
        self.host = host
        self.libraries = libraries
        self.logger = logger
    }

    public func run() async throws {
        let watcher: PluginDirectoryWatcher
        do {
            watcher = try PluginDirectoryWatcher.start(host: host, libraries: libraries, logger: logger)
        } catch {
            logger.warning("hot add is off: \(error)")
            return
        }
        defer { watcher.stop() }
        // Until the group shuts down (or is cancelled: the error only ends the wait).
        try? await gracefulShutdown()
    }
}
