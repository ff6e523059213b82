import Glibc
import Synchronization

/// One attempt at a call, from the moment it is submitted until its caller is answered.
///
/// Three parties may answer it (the plugin thread when the handler returns, the deadline timer, the
/// caller's cancellation); the first one wins and the others are ignored. The job is also its own
/// cancellation flag, deadline timer entry and pool work item, so a call allocates one object for all four.
final class CallJob: CancellationFlag, DeadlineEntry, PoolWork, @unchecked Sendable {
    enum Phase {
        case new, queued, running, abandoned, done
    }

    let plugin: LoadedPlugin
    let tool: RegisteredTool
    /// The manifest's `maxConcurrency` and `maxOutputBytes` for the tool (the rest of the manifest is not needed).
    let toolMaxConcurrency: Int?
    let toolMaxOutputBytes: Int?
    let arguments: [UInt8]
    /// Where the handler's progress reports go; nil when no one follows the call.
    let progress: CallProgress?
    /// Where a sampled call's plugin thread stamps its start and end; nil when the call is not traced.
    let timing: JobTiming?
    let callDeadline: CallDeadline
    /// CLOCK_MONOTONIC nanoseconds, 0 for none.
    let deadline: UInt64
    /// Guarded by the deadline timer's lock.
    var timerIndex = -1
    /// Told when the deadline passes, to give back the job's global slot.
    let scheduler: Scheduler
    let priority: Int
    let sequence: UInt64
    /// Who made the call ("" for no one): its quota and its share of the queue.
    let agent: String
    /// Guarded by the scheduler's lock: the job's place among its priority's queued jobs (fair queueing between
    /// agents, ``Scheduler``).
    var tag: UInt64 = 0
    /// `<plugin>.<tool>` and how the deadline was set, for the messages of a timeout or cancellation.
    let fullName: String

    /// Guarded by the scheduler's lock.
    var phase = Phase.new
    /// Guarded by the scheduler's lock: whether the job still holds one of the global slots.
    var holdsGlobalSlot = false

    /// The caller's answer: given once, by the handler's thread, the deadline timer or a cancellation, to a
    /// caller that may not be waiting yet.
    private struct Answer {
        var continuation: UnsafeContinuation<InvocationOutcome, Never>?
        var early: InvocationOutcome?
        var answered = false
        var timerArmed = false
    }
    private let answer = Mutex(Answer())
    /// Set (after `answer`) once the caller has been answered; what `waitAwake` polls.
    private let settled = Atomic<Bool>(false)

    init(
        plugin: LoadedPlugin, tool: RegisteredTool, manifest: ToolManifest, arguments: [UInt8],
        deadline: CallDeadline, priority: Int, sequence: UInt64, agent: String = "", fullName: String,
        scheduler: Scheduler, progress: CallProgress? = nil, timing: JobTiming? = nil
    ) {
        self.progress = progress
        self.timing = timing
        self.fullName = fullName
        self.agent = agent
        self.callDeadline = deadline
        self.deadline = deadline.nanoseconds
        self.plugin = plugin
        self.tool = tool
        self.toolMaxConcurrency = manifest.maxConcurrency
        self.toolMaxOutputBytes = manifest.maxOutputBytes
        self.arguments = arguments
        self.priority = priority
        self.sequence = sequence
        self.scheduler = scheduler
    }

    /// The flag the plugin's `is_cancelled` reads (the job itself).
    var cancellation: CancellationFlag { self }

    /// Waits for the answer; `start` runs once the caller's continuation is attached (submit the job there).
    @inline(__always)  // into the caller's frame: one async frame fewer per call
    func wait(_ start: () -> Void) async -> InvocationOutcome {
        // Unsafe (not checked): `answer` resumes it exactly once, and a checked one costs an allocation.
        await withUnsafeContinuation { continuation in
            let early = answer.withLock { state -> InvocationOutcome? in
                if let early = state.early { return early }
                state.continuation = continuation
                return nil
            }
            if let early {
                continuation.resume(returning: early)
            } else {
                start()
            }
        }
    }

    /// Waits for the answer without suspending, for at most `nanoseconds` and never past the deadline: polls,
    /// and yields the CPU between polls (the plugin thread may be waiting for this very core: the kernel often
    /// keeps a thread it woke next to its waker).
    ///
    /// For a call that is alone and handed to an awake plugin thread, whose answer usually comes within a few
    /// microseconds: suspending would cost more (the plugin thread's resume wakes a parked cooperative-pool
    /// thread, ~30 µs on the other core) than this bounded wait.
    /// - Returns: the answer, or nil if none came in time or the task was cancelled (then `wait`).
    func waitAwake(nanoseconds: UInt64) -> InvocationOutcome? {
        var until = monotonicNanoseconds() &+ nanoseconds
        if deadline != 0 && deadline < until { until = deadline }
        while !settled.load(ordering: .acquiring) {
            if monotonicNanoseconds() >= until || Task.isCancelled { return nil }
            sched_yield()
        }
        return answer.withLock { state in
            let early = state.early
            state.early = nil
            return early
        }
    }

    /// Arms the deadline (the timer calls `fire()`), or disarms it at once if the job was answered meanwhile.
    func armDeadline() {
        DeadlineTimer.shared.schedule(self)
        let answered = answer.withLock { state -> Bool in
            if state.answered { return true }
            state.timerArmed = true
            return false
        }
        if answered { DeadlineTimer.shared.cancel(self) }
    }

    /// Answers the caller unless someone already did.
    /// - Returns: whether this answer was the one delivered.
    @discardableResult
    func reply(_ outcome: InvocationOutcome) -> Bool {
        let (continuation, armed, won) = answer.withLock {
            state -> (UnsafeContinuation<InvocationOutcome, Never>?, Bool, Bool) in
            if state.answered { return (nil, false, false) }
            state.answered = true
            let continuation = state.continuation
            state.continuation = nil
            if continuation == nil { state.early = outcome }
            let armed = state.timerArmed
            state.timerArmed = false
            return (continuation, armed, true)
        }
        if won {
            scheduler.answered()
            settled.store(true, ordering: .releasing)
        }
        // The caller first, the timer's lock second: if the deadline fires in between, `fire()` finds the job
        // answered and does nothing that matters.
        continuation?.resume(returning: outcome)
        if armed { DeadlineTimer.shared.cancel(self) }
        return won
    }

    /// Runs the job on a pool thread.
    func run(with slot: CallSlot) {
        scheduler.run(self, slot: slot)
    }

    /// The deadline passed (on the timer thread): the caller is answered with a timeout, the plugin told to stop.
    func fire() {
        // Slots first, answer second: whoever the caller calls next finds the global slot free.
        set()
        scheduler.abandon(self)
        reply(.error(timeoutError))
    }

    var timeoutError: ToolError {
        ToolError(.timeout, "tool '\(fullName)' did not finish within \(callDeadline); it was told to stop")
    }

    var cancelledError: ToolError {
        ToolError(.cancelled, "the call of '\(fullName)' was cancelled by its caller")
    }
}
