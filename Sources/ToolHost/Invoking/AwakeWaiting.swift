import Synchronization

/// When a caller waits for its answer awake instead of suspending (`Limits.awakeWait`).
///
/// A call that is alone (no other call waiting for its answer) and handed to a plugin thread that is awake
/// waits awake for up to the configured time (`CallJob.waitAwake`): a tool that answers in a few microseconds
/// is then answered without a thread wake-up. It does not wait when its tool did not answer in time on one of
/// its last `retryInterval` calls (a slow tool).
///
/// On a machine whose cores are all busy with other processes a caller that waits awake call after call never
/// sleeps, so the kernel shares its core with them by time slices and now and then a call waits a slice
/// (milliseconds) where a suspended caller would have been woken ahead; `Limits.awakeWait` zero turns the
/// waits off for such machines.
final class AwakeWaiting: Sendable {
    /// How long a caller waits awake; 0: never.
    let nanoseconds: UInt64
    /// The longest wait used, whatever the configuration asks: the caller's thread is one of the cooperative
    /// pool's few.
    static let longest = Duration.milliseconds(1)
    /// After a call of a tool was not answered in time, this many of its calls suspend at once.
    static let retryInterval = 16

    /// Calls answered while their caller waited awake.
    let answers = Atomic<Int>(0)

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
        guard let outcome = job.waitAwake(nanoseconds: nanoseconds) else {
            if !Task.isCancelled { tool.awakeWaitBackoff.store(Self.retryInterval, ordering: .relaxed) }
            return nil
        }
        return outcome
    }
}
