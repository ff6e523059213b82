import CToolHost
import Glibc
import Logging
import Synchronization

/// The host side of one `toolhost_call`: the context a handler's host-function calls land in.
///
/// A slot belongs to one plugin thread at a time and is never freed (slots are recycled), so a plugin
/// that keeps a `toolhost_call` pointer past its call and uses it later reaches a live slot that
/// rejects it (wrong thread, or no call running) instead of freed memory.
final class CallSlot: @unchecked Sendable {
    /// The struct handed to handlers; lives as long as the slot, i.e. forever.
    let call: UnsafeMutablePointer<toolhost_call>

    /// The thread running a call in this slot (its `pthread_self()`), 0 when none is. Atomic because a plugin may
    /// use a kept `toolhost_call` pointer from any thread at any time (``current(_:)`` reads it to refuse that); only
    /// the owning thread stores its own id, so a thread that loads its own id is the one running the call.
    private let owner = Atomic<UInt>(0)
    /// The plugin's host table and the tool's `cName` of the slot's latest call (as bit patterns), for naming the
    /// tool when a late call from another thread is refused (``lastCall(of:)``): that thread cannot read the call
    /// struct's own fields, which the next call's ``begin`` rewrites on the owning thread.
    private let latest = Mutex<(host: UInt, toolName: UInt)>((0, 0))
    private var active: Bool { owner.load(ordering: .relaxed) != 0 }
    private(set) var output: [UInt8] = []
    private(set) var errorMessage: String?
    private(set) var overflowed = false
    private var maxOutputBytes = 0
    private var deadline: UInt64 = 0
    private var cancellation: CancellationFlag?
    private var logger: Logger?
    /// Where the call's progress reports go; nil when no one follows them.
    private var progress: (any ProgressSink)?
    /// Counts `PluginThreadPool.willFinish()` calls made on this slot's thread (read by the pool's loop).
    var finishMarks = 0

    private static let free = Mutex<[CallSlot]>([])

    private init() {
        call = .allocate(capacity: 1)
        call.initialize(
            to: toolhost_call(
                struct_size: UInt32(MemoryLayout<toolhost_call>.size), reserved: 0, host: nil, plugin_state: nil,
                tool_state: nil, tool_name: nil, host_data: nil))
        call.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
    }

    /// A slot for the calling thread to use; give it back with `release()`.
    static func acquire() -> CallSlot {
        free.withLock { $0.popLast() } ?? CallSlot()
    }

    func release() {
        precondition(!active)
        CallSlot.free.withLock { $0.append(self) }
    }

    /// Prepares the slot for a call on the current thread.
    func begin(
        plugin: LoadedPlugin, tool: RegisteredTool, deadline: UInt64, cancellation: CancellationFlag,
        maxOutputBytes: Int, logger: Logger, progress: (any ProgressSink)? = nil
    ) {
        call.pointee.host = UnsafePointer(plugin.hostTable)
        call.pointee.plugin_state = plugin.pluginState
        call.pointee.tool_state = tool.toolState
        call.pointee.tool_name = UnsafePointer(tool.cName)
        let identity = (host: UInt(bitPattern: plugin.hostTable), toolName: UInt(bitPattern: tool.cName))
        latest.withLock { $0 = identity }
        output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
        errorMessage = nil
        overflowed = false
        self.maxOutputBytes = maxOutputBytes
        self.deadline = deadline
        self.cancellation = cancellation
        self.logger = logger
        self.progress = progress
        owner.store(UInt(pthread_self()), ordering: .relaxed)
    }

    /// Ends the call; host functions called with this slot afterwards are refused.
    func end() {
        owner.store(0, ordering: .relaxed)
        cancellation = nil
        logger = nil
        progress = nil
    }

    /// Moves the output out of the slot.
    func takeOutput() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &output)
        return taken
    }

    /// The slot a handler's `call` pointer refers to, if it is a call running on this thread.
    static func current(_ call: UnsafePointer<toolhost_call>?) -> CallSlot? {
        guard let call, let data = call.pointee.host_data else { return nil }
        let slot = Unmanaged<CallSlot>.fromOpaque(data).takeUnretainedValue()
        guard slot.owner.load(ordering: .relaxed) == UInt(pthread_self()) else { return nil }
        return slot
    }

    /// The host table and tool name of the latest call in the slot `call` belongs to, from any thread: what a
    /// refused late call is logged under. Both live as long as the plugin (never unloaded).
    static func lastCall(of call: UnsafePointer<toolhost_call>?) -> (host: UInt, toolName: String)? {
        guard let call, let data = call.pointee.host_data else { return nil }
        let slot = Unmanaged<CallSlot>.fromOpaque(data).takeUnretainedValue()
        let identity = slot.latest.withLock { $0 }
        guard identity.host != 0, let name = UnsafePointer<CChar>(bitPattern: identity.toolName) else { return nil }
        return (identity.host, String(cString: name))
    }

    func appendOutput(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !overflowed else { return false }
        if output.count + bytes.count > maxOutputBytes {
            overflowed = true
            output.removeAll()
            return false
        }
        output.append(contentsOf: bytes)
        return true
    }

    func setError(_ message: String) { errorMessage = message }

    var isCancelled: Bool {
        if cancellation?.isSet == true { return true }
        return deadline != 0 && monotonicNanoseconds() >= deadline
    }

    var deadlineNanoseconds: UInt64 { deadline }

    func log(level: Logger.Level, _ message: String) {
        logger?.log(level: level, "\(message)")
    }

    /// Hands a progress report to whoever follows the call (`report_progress`).
    /// - Returns: false when it was refused: `done` is not a finite number at least 0, or the call passed its
    ///   deadline or was cancelled (its caller may have been answered: nothing more reaches it), or it ended.
    func reportProgress(done: Double, total: Double, message: UnsafeRawBufferPointer?) -> Bool {
        guard done.isFinite, done >= 0, !isCancelled else { return false }
        // No one follows the call: the report is taken and dropped, at the cost of the checks above.
        guard let progress else { return true }
        guard let report = ProgressReport(done: done, total: total, message: message) else { return false }
        return progress.report(report)
    }
}

/// Where a running call's progress reports go: a front end's ``CallProgress``, or in a worker process the channel
/// to the host. Called on the plugin's thread: it must be cheap and never wait for a client.
protocol ProgressSink: AnyObject, Sendable {
    /// - Returns: false when the call has ended for the receiver (the report is dropped).
    func report(_ report: ProgressReport) -> Bool
}

extension CallProgress: ProgressSink {}

/// A flag set once when a call is cancelled or passes its deadline; read by the plugin's thread. Not final: a
/// call's job is its own flag (`CallJob`).
class CancellationFlag: @unchecked Sendable {
    private let flag = Atomic<Bool>(false)
    init() {}
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
