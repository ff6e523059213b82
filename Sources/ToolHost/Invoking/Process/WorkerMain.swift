import Glibc
import Logging

/// The worker side of process isolation: `toolhost worker` loads one plugin and runs its calls, one at a
/// time, for the host at the other end of fd 3.
///
/// The worker runs the generation the host validated and nothing else: the manifest text the host parsed (its
/// first frame) and the host's private copy of the library, whose sha256 it checks before opening it. It never
/// reads the plugin folder, which may have changed since (a library overwritten in place, a rejected update).
public enum WorkerMain {
    /// Runs until the host closes the channel (or dies: the worker is killed with it).
    /// - Parameters:
    ///   - pluginName: the plugin the host means to run (its manifest must name it).
    ///   - libraryPath: the host's private copy of the library (nil for a system library, opened by soname).
    ///   - sha256: the copy's sha256 as the host computed it; a copy that differs is refused.
    ///   - sandbox: whether to apply `WorkerSandbox` before the library is opened (the operator may turn it off).
    /// - Returns: the process exit status.
    public static func run(
        pluginName: String, libraryPath: String?, sha256: String?, allowedSystemLibraries: Set<String>,
        maxOutputBytes: Int, sandbox: Bool = true, logger: Logger
    ) -> Int32 {
        // Plugin code (its initialisers, init, every handler) runs on a thread with an 8 MiB stack, as in process,
        // whatever the process default (`ulimit -s`) gives the main thread; the main thread only waits for it.
        final class Outcome: @unchecked Sendable {
            /// Written by the plugin thread before it posts `done`; read by the main thread after.
            var status: Int32 = 0
            /// A semaphore at an address of its own (a Swift property's address is not stable across calls).
            let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
            deinit { done.deallocate() }
        }
        let outcome = Outcome()
        sem_init(outcome.done, 0, 0)
        defer { sem_destroy(outcome.done) }
        let started = HostThread.start(named: "toolhost-worker") {
            outcome.status = serve(
                pluginName: pluginName, libraryPath: libraryPath, sha256: sha256,
                allowedSystemLibraries: allowedSystemLibraries, maxOutputBytes: maxOutputBytes, sandbox: sandbox,
                logger: logger)
            sem_post(outcome.done)
        }
        guard started else {
            logger.warning("no thread for the plugin (a resource limit); it runs on the main thread's stack")
            return serve(
                pluginName: pluginName, libraryPath: libraryPath, sha256: sha256,
                allowedSystemLibraries: allowedSystemLibraries, maxOutputBytes: maxOutputBytes, sandbox: sandbox,
                logger: logger)
        }
        while sem_wait(outcome.done) != 0 && errno == EINTR {}
        return outcome.status
    }

    private static func serve(
        pluginName: String, libraryPath: String?, sha256: String?, allowedSystemLibraries: Set<String>,
        maxOutputBytes: Int, sandbox: Bool, logger: Logger
    ) -> Int32 {
        let channel = WorkerChannel(fd: 3)
        let text: [UInt8]
        switch channel.read(deadline: 0, maxPayload: maxOutputBytes + WorkerFrame.overhead) {
        case .frame(.load(let manifest)): text = manifest
        case .closed: return 0
        case .frame, .malformed, .timedOut:
            _ = channel.write(.failedToLoad(message: "the host did not hand the worker a manifest first"))
            return 2
        }
        let plugin: LoadedPlugin
        var confinement = WorkerSandbox.Report()
        do {
            let manifest = try PluginManifest.parse(text, file: "the manifest the host validated for '\(pluginName)'")
            guard manifest.name == pluginName else {
                throw ToolError(
                    .internal,
                    "the worker was started for plugin '\(pluginName)' but handed the manifest of '\(manifest.name)'")
            }
            // Before the library is opened: its initialisers are plugin code too.
            confinement = WorkerSandbox.apply(
                enabled: sandbox, network: getenv(WorkerSandbox.networkVariable).map { String(cString: $0) })
            var copy: LibraryStore.Copy? = nil
            if let libraryPath, let sha256 { copy = LibraryStore.Copy(path: libraryPath, sha256: sha256) }
            // A worker makes no copies: loadInWorker opens the host's, so this store is never used.
            let loader = PluginLoader(
                store: LibraryStore(directory: ""), logger: logger, allowedSystemLibraries: allowedSystemLibraries)
            plugin = try loader.loadInWorker(manifest: manifest, copy: copy)
        } catch let error as ManifestError {
            _ = channel.write(.failedToLoad(message: error.description))
            return 1
        } catch let error as ToolError {
            _ = channel.write(.failedToLoad(message: error.message))
            return 1
        } catch {
            _ = channel.write(.failedToLoad(message: "\(error)"))
            return 1
        }
        let tools = plugin.tools.values.sorted { $0.name < $1.name }.map { ($0.name, $0.threadSafe) }
        // Each tool's own limit, as the host applies it in-process: a result over it is refused from the size the
        // plugin hands write_result, before the worker buffers or frames it (a worker under limits.memoryMB could
        // not hold several copies of a result the host would refuse anyway).
        var outputLimits: [String: Int] = [:]
        for tool in plugin.manifest.tools {
            outputLimits[tool.name] = ToolManifest.outputLimit(tool: tool.maxOutputBytes, host: maxOutputBytes)
        }
        guard channel.write(.ready(tools: tools, sandbox: confinement)) else { return 0 }
        let slot = CallSlot.acquire()
        let progress = WorkerProgress(channel: channel)
        var spin = false
        while true {
            let next = channel.read(
                deadline: 0, maxPayload: maxOutputBytes + WorkerFrame.overhead,
                spin: spin ? WorkerChannel.spinNanoseconds : 0)
            switch next {
            case .frame(.call(let name, let arguments, let deadline, let spinAfter, let followed)):
                spin = spinAfter
                guard let tool = plugin.tools[name] else {
                    _ = channel.write(.result(status: -1, output: [], message: "the worker has no tool '\(name)'"))
                    continue
                }
                if followed { progress.begin() }
                let outcome = InProcessInvocation.run(
                    plugin: plugin, tool: tool, arguments: arguments, deadline: deadline,
                    cancellation: CancellationFlag(), maxOutputBytes: outputLimits[name] ?? maxOutputBytes,
                    slot: slot, progress: followed ? progress : nil)
                let frame: WorkerFrame
                switch outcome {
                case .success(let output): frame = .result(status: 0, output: output, message: nil)
                case .failure(let status, let message): frame = .result(status: status, output: [], message: message)
                case .error(let error): frame = .result(status: -1, output: [], message: error.message)
                }
                guard followed ? progress.end(writing: frame) : channel.write(frame) else { return 0 }
            case .closed:
                return 0
            case .frame, .malformed, .timedOut:
                return 2
            }
        }
    }
}
