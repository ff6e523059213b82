import CToolHost
import Logging
import Synchronization

/// A count of running calls, guarded by the scheduler's lock.
final class ConcurrencyGate: @unchecked Sendable {
    var running = 0
}

/// A tool as the library registered it. A class: every call passes it along (into its job), and copying the
/// struct it was retained its name, gate and kind each time.
final class RegisteredTool: @unchecked Sendable {
    let name: String
    /// Calls of this tool whose handler has not returned yet.
    let gate = ConcurrencyGate()
    /// NUL-terminated copy of the name, handed to handlers; never freed.
    let cName: UnsafeMutablePointer<CChar>
    /// How the tool is called.
    enum Kind {
        /// A JSON handler.
        case json(toolhost_handler_fn)
        /// A typed C function called through libffi.
        case native(NativeFunction)
        /// A tool of a plugin in `process` isolation: it runs in a worker process.
        case remote
    }
    let kind: Kind
    let toolState: UnsafeMutableRawPointer?
    let threadSafe: Bool
    /// Calls left before a caller waits awake for this tool's answer again (`AwakeWaiting`): set when a call was
    /// not answered within the awake wait, so a slow tool costs that wait on at most one call in
    /// `AwakeWaiting.retryInterval`.
    let awakeWaitBackoff = Atomic<Int>(0)

    init(
        name: String, cName: UnsafeMutablePointer<CChar>, kind: Kind, toolState: UnsafeMutableRawPointer?,
        threadSafe: Bool
    ) {
        self.name = name
        self.cName = cName
        self.kind = kind
        self.toolState = toolState
        self.threadSafe = threadSafe
    }
}

/// A plugin library that is open and initialised. It is never closed: code of a call that passed its
/// deadline may still be running in it, and a handle is cheap next to a crash.
final class LoadedPlugin: @unchecked Sendable {
    let manifest: PluginManifest
    /// The content-addressed private copy that was opened.
    let libraryPath: String
    let sha256: String
    /// The library (nil in `process` isolation: it is open in the workers only).
    let handle: UnsafeMutableRawPointer?
    let hostTable: UnsafeMutablePointer<toolhost_host_api>?
    let pluginState: UnsafeMutableRawPointer?
    let tools: [String: RegisteredTool]
    let logger: Logger
    /// Calls of this plugin whose handler has not returned yet.
    let gate = ConcurrencyGate()
    /// The worker processes, in `process` isolation.
    let workers: WorkerPool?
    /// Quarantine after repeated crashes or timeouts.
    let breaker: CircuitBreaker

    init(
        manifest: PluginManifest, libraryPath: String, sha256: String, handle: UnsafeMutableRawPointer?,
        hostTable: UnsafeMutablePointer<toolhost_host_api>?, pluginState: UnsafeMutableRawPointer?,
        tools: [String: RegisteredTool], logger: Logger, workers: WorkerPool? = nil,
        breaker: CircuitBreaker = CircuitBreaker(
            policy: .init(threshold: 5, window: .seconds(60), coolDown: .seconds(30)))
    ) {
        self.workers = workers
        self.breaker = breaker
        self.manifest = manifest
        self.libraryPath = libraryPath
        self.sha256 = sha256
        self.handle = handle
        self.hostTable = hostTable
        self.pluginState = pluginState
        self.tools = tools
        self.logger = logger
    }
}
