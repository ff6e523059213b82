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
        /// Callers waiting for the load; each may stop waiting first (its deadline, its cancellation).
        var waiters: [OneShot<Result<LoadedPlugin, ToolError>>] = []
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
    ///
    /// A caller that must wait for the load stops waiting at `deadline` (a `timeout`) or when its task is
    /// cancelled (`cancelled`); the load itself cannot be interrupted and goes on for later calls.
    /// - Parameters:
    ///   - deadline: when the caller stops waiting (0: never); `timeout` describes the error then.
    ///   - tool: `<plugin>.<tool>`, for the messages.
    func loaded(
        using loader: PluginLoader, pool: PluginThreadPool, deadline: CallDeadline, tool: String
    ) async throws(ToolError) -> LoadedPlugin {
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
        // Started whatever happens to this caller (a cancelled one must not leave the plugin loading forever).
        if case .load = fast { pool.submit { self.finish(self.load(using: loader)) } }
        let reply = OneShot<Result<LoadedPlugin, ToolError>>()
        let name = manifest.name
        let result = await reply.wait(
            until: deadline.nanoseconds,
            register: {
                let finished: State? = mutable.withLock { state in
                    if case .loading = state.state {
                        state.waiters.append(reply)
                        return nil
                    }
                    return state.state
                }
                switch finished {
                case .loaded(let plugin)?: reply.reply(.success(plugin))
                case .failed(let error)?: reply.reply(.failure(error))
                case .listed?, .loading?: reply.reply(.failure(ToolError(.internal, "plugin state lost")))
                case nil: break
                }
            },
            timedOut: {
                .failure(
                    ToolError(
                        .timeout,
                        "tool '\(tool)' did not finish within \(deadline): its plugin '\(name)' was still loading "
                            + "(init had not returned); the load goes on, and calls after it use it"))
            },
            cancelled: {
                .failure(
                    ToolError(
                        .cancelled,
                        "the call of '\(tool)' was cancelled by its caller while plugin '\(name)' was loading"))
            },
            gaveUp: { [weak self] in self?.stopWaiting(reply) })
        return try result.get()
    }

    /// A caller that stopped waiting for the load leaves the list (a load that hangs keeps no memory per call).
    private func stopWaiting(_ reply: OneShot<Result<LoadedPlugin, ToolError>>) {
        mutable.withLock { state in state.waiters.removeAll { $0 === reply } }
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
        for waiter in waiters { waiter.reply(result) }
    }
}
