import Synchronization

/// One plugin directory as the registry knows it: its manifest, and whether its library is loaded.
///
/// The library is opened lazily, on the first call of one of its tools; concurrent first calls share
/// one load. A failed load is remembered: the plugin's calls fail fast with the same error until its
/// manifest changes (a new record is made then).
final class PluginRecord: Sendable {
    enum State: Sendable {
        case listed
        case loading
        case loaded(LoadedPlugin)
        case failed(ToolError)
    }

    let directory: String
    let manifest: PluginManifest
    /// SHA-256 of the manifest's bytes and the library file's identity: a rescan keeps the record (and its
    /// loaded library) while both are unchanged.
    let identity: String

    private struct Mutable {
        var state = State.listed
        var waiters: [CheckedContinuation<Result<LoadedPlugin, ToolError>, Never>] = []
    }
    private let mutable = Mutex(Mutable())

    init(directory: String, manifest: PluginManifest, identity: String) {
        self.directory = directory
        self.manifest = manifest
        self.identity = identity
    }

    /// Loads the library on the calling thread (a host thread, never the cooperative pool) unless it is loaded
    /// or loading already.
    /// - Returns: the error when the load failed.
    func loadNow(using loader: PluginLoader) -> ToolError? {
        let start = mutable.withLock { state -> Bool in
            guard case .listed = state.state else { return false }
            state.state = .loading
            return true
        }
        guard start else {
            if case .failed(let error) = state { return error }
            return nil
        }
        let result = load(using: loader)
        finish(result)
        if case .failure(let error) = result { return error }
        return nil
    }

    private func load(using loader: PluginLoader) -> Result<LoadedPlugin, ToolError> {
        do throws(ToolError) {
            return .success(try loader.load(manifest: manifest, directory: directory))
        } catch {
            loader.logger.error(
                "plugin failed to load", metadata: ["plugin.name": "\(manifest.name)", "error": "\(error)"])
            return .failure(error)
        }
    }

    var state: State { mutable.withLock { $0.state } }

    /// The loaded plugin, loading it first if needed (on a host thread, never the cooperative pool).
    func loaded(using loader: PluginLoader, pool: PluginThreadPool) async throws(ToolError) -> LoadedPlugin {
        enum Step {
            case ready(LoadedPlugin)
            case failed(ToolError)
            case wait
            case load
        }
        // Fast path without suspending.
        let fast: Step = mutable.withLock { state in
            switch state.state {
            case .loaded(let plugin): return .ready(plugin)
            case .failed(let error): return .failed(error)
            case .loading: return .wait
            case .listed:
                state.state = .loading
                return .load
            }
        }
        switch fast {
        case .ready(let plugin): return plugin
        case .failed(let error): throw error
        case .wait, .load: break
        }
        let result: Result<LoadedPlugin, ToolError> = await withCheckedContinuation { continuation in
            let stillLoading = mutable.withLock { state -> Bool in
                switch state.state {
                case .loading:
                    state.waiters.append(continuation)
                    return true
                default: return false
                }
            }
            if !stillLoading {
                switch state {
                case .loaded(let plugin): continuation.resume(returning: .success(plugin))
                case .failed(let error): continuation.resume(returning: .failure(error))
                default: continuation.resume(returning: .failure(ToolError(.internal, "plugin state lost")))
                }
            }
            guard case .load = fast else { return }
            pool.submit { self.finish(self.load(using: loader)) }
        }
        return try result.get()
    }

    private func finish(_ result: Result<LoadedPlugin, ToolError>) {
        let waiters = mutable.withLock { state in
            switch result {
            case .success(let plugin): state.state = .loaded(plugin)
            case .failure(let error): state.state = .failed(error)
            }
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}
