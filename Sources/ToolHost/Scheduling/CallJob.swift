/// One attempt at a call, from the moment it is submitted until its caller is answered.
///
/// Three parties may answer it (the plugin thread when the handler returns, the deadline timer, the
/// caller's cancellation); the first one wins and the others are ignored.
final class CallJob: @unchecked Sendable {
    enum Phase {
        case new, queued, running, abandoned, done
    }

    let plugin: LoadedPlugin
    let tool: RegisteredTool
    let toolManifest: ToolManifest
    let arguments: [UInt8]
    /// CLOCK_MONOTONIC nanoseconds, 0 for none.
    let deadline: UInt64
    let callDeadline: CallDeadline
    let priority: Int
    let sequence: UInt64
    let cancellation = CancellationFlag()
    /// `<plugin>.<tool>` and how the deadline was set, for the messages of a timeout or cancellation.
    let fullName: String

    /// Guarded by the scheduler's lock.
    var phase = Phase.new
    /// Guarded by the scheduler's lock: whether the job still holds one of the global slots.
    var holdsGlobalSlot = false

    /// The caller's answer: given once, by the handler's thread, the deadline timer or a cancellation.
    let reply = OneShot<InvocationOutcome>()

    init(
        plugin: LoadedPlugin, tool: RegisteredTool, toolManifest: ToolManifest, arguments: [UInt8],
        deadline: CallDeadline,
        priority: Int, sequence: UInt64, fullName: String
    ) {
        self.fullName = fullName
        self.callDeadline = deadline
        self.plugin = plugin
        self.tool = tool
        self.toolManifest = toolManifest
        self.arguments = arguments
        self.deadline = deadline.nanoseconds
        self.priority = priority
        self.sequence = sequence
    }

    var timeoutError: ToolError {
        ToolError(.timeout, "tool '\(fullName)' did not finish within \(callDeadline); it was told to stop")
    }

    var cancelledError: ToolError {
        ToolError(.cancelled, "the call of '\(fullName)' was cancelled by its caller")
    }
}
