import Synchronization

/// When a caller waits for its answer awake instead of suspending (`Limits.awakeWait`), and what it learned.
///
/// A call that is alone (no other call waiting for its answer) and handed to a plugin thread that is awake
/// waits awake for up to the configured time (`CallJob.waitAwake`): a tool that answers in a few microseconds
/// is then answered without a thread wake-up. It does not wait when:
/// - its tool did not answer in time on one of its last `retryInterval` calls (a slow tool);
/// - the cores are wanted by other processes (`CoreContention`): a thread that never sleeps gets a fair share of
///   a core there, not the quick turn a waking thread gets, so now and then it would wait a time slice;
/// - a waiting thread lost its core a moment ago (`pause()`).
final class AwakeWaiting: Sendable {
    /// How long a caller waits awake; 0: never.
    let nanoseconds: UInt64
    /// The longest wait used, whatever the configuration asks: the caller's thread is one of the cooperative
    /// pool's few.
    static let longest = Duration.milliseconds(1)
    /// After a call of a tool was not answered in time, this many of its calls suspend at once.
    static let retryInterval = 16
    static let shortestPause: UInt64 = 50_000_000
    static let longestPause: UInt64 = 2_000_000_000

    /// Calls answered while their caller waited awake.
    let answers = Atomic<Int>(0)
    /// How many times the waits were paused.
    let pauses = Atomic<Int>(0)
    /// Until when (CLOCK_MONOTONIC ns) nobody waits awake (0: no pause yet).
    let pausedUntil = Atomic<UInt64>(0)
    /// The length of the last pause and when it ended, guarded (only a preemption takes it).
    private let lastPause = Mutex((length: UInt64(0), until: UInt64(0)))
    private let contention = CoreContention()
    /// Whether the waits stop while the cores are wanted elsewhere and after a preemption (true). Tests of the
    /// waits themselves turn it off, so that they do not depend on what else the machine runs.
    let adaptsToLoad = Atomic<Bool>(true)
    /// The core the last job waited for started on (-1: none yet): where the next one likely runs.
    private let pluginCore = Atomic<Int32>(-1)

    init(_ wait: Duration) {
        nanoseconds = UInt64(max(0, CallDeadline.nanoseconds(min(wait, Self.longest))))
    }

    /// Waits awake for the answer of a job that is alone and was taken by an awake plugin thread, if it should.
    /// - Returns: the answer, or nil (then the caller suspends until it comes).
    func answer(_ job: CallJob, tool: RegisteredTool) -> InvocationOutcome? {
        guard nanoseconds > 0 else { return nil }
        if tool.awakeWaitBackoff.load(ordering: .relaxed) > 0 {
            tool.awakeWaitBackoff.wrappingSubtract(1, ordering: .relaxed)
            return nil
        }
        let now = monotonicNanoseconds()
        if adaptsToLoad.load(ordering: .relaxed)
            && (now < pausedUntil.load(ordering: .relaxed) || contention.isContended(now: now))
        {
            return nil
        }
        let outcome = job.waitAwake(nanoseconds: nanoseconds, expectedCore: pluginCore.load(ordering: .relaxed))
        let core = job.startedCore
        if core >= 0 { pluginCore.store(core, ordering: .relaxed) }
        switch outcome {
        case .answered(let outcome):
            answers.wrappingAdd(1, ordering: .relaxed)
            return outcome
        case .gaveUp:
            if !Task.isCancelled { tool.awakeWaitBackoff.store(Self.retryInterval, ordering: .relaxed) }
        case .preempted:
            pause()
        }
        return nil
    }

    /// A waiting thread lost its core. Nobody waits awake for 50 ms; for twice as long as the last time (up to
    /// 2 s) when it happens again soon after a pause: a passing hiccup on a quiet machine costs little, a busy
    /// machine soon stops the waits for long.
    /// - Returns: the length of this pause in nanoseconds.
    @discardableResult
    func pause() -> UInt64 {
        pauses.wrappingAdd(1, ordering: .relaxed)
        let now = monotonicNanoseconds()
        let (length, until) = lastPause.withLock { pause in
            let again = pause.length > 0 && now < pause.until &+ 2 &* pause.length
            pause.length = again ? min(Self.longestPause, pause.length &* 2) : Self.shortestPause
            pause.until = now &+ pause.length
            return (pause.length, pause.until)
        }
        pausedUntil.store(until, ordering: .relaxed)
        return length
    }
}
