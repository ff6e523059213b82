import ArgumentParser
import ToolHost

/// `--no-watch`, shared by the daemon commands (`mcp`, `serve`).
struct WatchOptions: ParsableArguments {
    @Flag(
        name: .customLong("no-watch"),
        help: ArgumentHelp(
            "Do not watch the plugins directory (by default plugins added, replaced or removed while the daemon "
                + "runs are picked up; manifest.json is the commit point)."))
    var noWatch = false

    /// Starts the directory watcher unless `--no-watch`; a directory that cannot be watched is reported on stderr
    /// and the daemon goes on without hot add.
    func start(_ host: ToolHost) -> PluginDirectoryWatcher? {
        guard !noWatch else { return nil }
        do {
            return try PluginDirectoryWatcher.start(host: host)
        } catch {
            printError("toolhost: warning: hot add is off: \(error)")
            return nil
        }
    }
}
