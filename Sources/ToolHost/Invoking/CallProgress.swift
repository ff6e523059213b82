import Synchronization

/// A call's progress, from its plugin to one front end: the plugin's thread stores the latest report, the front
/// end takes it when it is ready for another (``relay(every:to:while:)``).
///
/// Invariant: at most one report is pending (the latest; each new one replaces it), so a plugin that reports a
/// million times a second costs one lock and a store each time, and a slow client holds up no one: it sees fewer
/// reports. Once ``end()`` ran (the call was answered) reports are refused and nothing more is handed out.
///
/// A front end that follows a call's progress puts a `CallProgress` in ``ToolCall/progress``; the host ends it when
/// the call returns.
public final class CallProgress: Sendable {
    private struct State {
        var latest: ProgressReport?
        var ended = false
        /// The front end waiting in ``next()``.
        var waiter: CheckedContinuation<ProgressReport?, Never>?
    }
    private let state = Mutex(State())

    /// The progress of the call running in this task, bound by ``ToolHost/call(_:)`` and read where the call is
    /// handed to a plugin thread (the executor), so the pipeline's functions between need not carry it.
    @TaskLocal static var current: CallProgress?

    public init() {}

    /// Stores a report as the latest (on the plugin's thread: never blocks, never suspends).
    /// - Returns: false when the call has ended (the report is dropped).
    func report(_ report: ProgressReport) -> Bool {
        let waiter = state.withLock { state -> CheckedContinuation<ProgressReport?, Never>?? in
            if state.ended { return .none }
            if let waiter = state.waiter {
                state.waiter = nil
                return .some(waiter)
            }
            state.latest = report
            return .some(nil)
        }
        guard let waiter else { return false }
        waiter?.resume(returning: report)
        return true
    }

    /// Ends the call's progress: later reports are refused, the pending one is dropped, a waiting ``next()`` returns
    /// nil. Idempotent.
    public func end() {
        let waiter = state.withLock { state in
            state.ended = true
            state.latest = nil
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Whether the call's progress has ended.
    public var isEnded: Bool { state.withLock { $0.ended } }

    /// The latest report not yet taken, waiting for one if there is none.
    /// - Returns: nil once the progress ended (or the waiting task was cancelled, which ends it). One task at a time.
    public func next() async -> ProgressReport? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ProgressReport?, Never>) in
                let ready = state.withLock { state -> ProgressReport?? in
                    if let latest = state.latest {
                        state.latest = nil
                        return .some(latest)
                    }
                    if state.ended { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            end()
        }
    }

    /// How often a front end hands a call's progress to its client at most (``relay(every:to:while:)``).
    public static let defaultInterval = Duration.milliseconds(50)

    /// Runs `body` (the call) while handing its progress to `deliver`: the first report at once, then at most one
    /// every `interval`, always the latest; none after `body` returned (the progress is ended then, and a delivery
    /// under way is awaited, so the caller can send the answer after the last notification).
    /// - Parameters:
    ///   - interval: the least time between two deliveries.
    ///   - deliver: sends one report to the client (it may suspend; reports meanwhile are coalesced).
    ///   - body: runs the call.
    /// - Returns: what `body` returned.
    public func relay<T>(
        every interval: Duration = CallProgress.defaultInterval,
        to deliver: @escaping @Sendable (ProgressReport) async -> Void, while body: () async -> T
    ) async -> T {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                while let report = await next() {
                    await deliver(report)
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { return }
                }
            }
            let value = await body()
            end()
            group.cancelAll()
            await group.waitForAll()
            return value
        }
    }
}
