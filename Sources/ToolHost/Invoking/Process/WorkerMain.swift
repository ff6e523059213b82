import Logging

/// The worker side of process isolation: `toolhost worker` loads one plugin and runs its calls, one at a
/// time, for the host at the other end of fd 3.
public enum WorkerMain {
    /// Runs until the host closes the channel (or dies: the worker is killed with it).
    /// - Returns: the process exit status.
    public static func run(
        pluginDirectory: String, libraryStore: String, allowedSystemLibraries: Set<String>, maxOutputBytes: Int,
        logger: Logger
    ) -> Int32 {
        let channel = WorkerChannel(fd: 3)
        let plugin: LoadedPlugin
        do {
            let manifest = try PluginManifest.load(directory: pluginDirectory)
            let loader = PluginLoader(
                store: LibraryStore(directory: libraryStore), logger: logger,
                allowedSystemLibraries: allowedSystemLibraries)
            plugin = try loader.loadInProcess(manifest: manifest, directory: pluginDirectory)
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
        guard channel.write(.ready(tools: tools)) else { return 0 }
        let slot = CallSlot.acquire()
        var spin = false
        while true {
            let next = channel.read(
                deadline: 0, maxPayload: maxOutputBytes + WorkerFrame.overhead,
                spin: spin ? WorkerChannel.spinNanoseconds : 0)
            switch next {
            case .frame(.call(let name, let arguments, let deadline, let spinAfter)):
                spin = spinAfter
                guard let tool = plugin.tools[name] else {
                    _ = channel.write(.result(status: -1, output: [], message: "the worker has no tool '\(name)'"))
                    continue
                }
                let outcome = InProcessInvocation.run(
                    plugin: plugin, tool: tool, arguments: arguments, deadline: deadline,
                    cancellation: CancellationFlag(), maxOutputBytes: maxOutputBytes, slot: slot)
                let frame: WorkerFrame
                switch outcome {
                case .success(let output): frame = .result(status: 0, output: output, message: nil)
                case .failure(let status, let message): frame = .result(status: status, output: [], message: message)
                case .error(let error): frame = .result(status: -1, output: [], message: error.message)
                }
                guard channel.write(frame) else { return 0 }
            case .closed:
                return 0
            case .frame, .malformed, .timedOut:
                return 2
            }
        }
    }
}
