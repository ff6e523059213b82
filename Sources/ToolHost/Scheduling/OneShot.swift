import Synchronization

/// A reply that can be given once, by whichever of several parties comes first (the plugin thread, the
/// deadline timer, a cancellation), to a caller that may not be waiting yet.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var continuation: UnsafeContinuation<Value, Never>?
        var early: Value?
        var answered = false
        var timer: DeadlineTimer.Entry?
    }
    private let state = Mutex(State())

    init() {}

    /// Waits for the reply; `arm` runs once the continuation is attached (start the work there).
    func wait(_ arm: () -> Void) async -> Value {
        // Unsafe (not checked): the state below resumes it exactly once, and a checked one costs an allocation.
        let value = await withUnsafeContinuation { continuation in
            let early: Value? = state.withLock { state in
                if let early = state.early { return early }
                state.continuation = continuation
                return nil
            }
            if let early {
                continuation.resume(returning: early)
            } else {
                arm()
            }
        }
        #if TOOLHOST_TSAN_LOCKS
            // ThreadSanitizer (Swift 6.3.1, Linux) sees no ordering between a thread that resumes a continuation and the
            // task that resumes, so what the replier wrote before `reply` would be reported as racing with the waiter's
            // reads. The replier took this lock after writing its value; taking it here makes that order visible.
            state.withLock { _ in }
        #endif
        return value
    }

    /// Keeps the timer entry so that a reply cancels it.
    func armTimer(_ entry: DeadlineTimer.Entry) {
        let answered = state.withLock { state -> Bool in
            if state.answered { return true }
            state.timer = entry
            return false
        }
        if answered { DeadlineTimer.shared.cancel(entry) }
    }

    /// Waits for the reply, or until `deadline` or the task's cancellation, whichever comes first.
    /// - Parameters:
    ///   - deadline: CLOCK_MONOTONIC nanoseconds; 0: none.
    ///   - register: runs once the caller waits: hand this one-shot to whoever will reply (or reply at once).
    ///   - timedOut: the reply when the deadline passes first.
    ///   - cancelled: the reply when the task is cancelled first.
    ///   - gaveUp: runs when one of those two was the reply delivered (to forget this waiter).
    func wait(
        until deadline: UInt64, register: () -> Void, timedOut: @escaping @Sendable () -> Value,
        cancelled: @escaping @Sendable () -> Value, gaveUp: @escaping @Sendable () -> Void = {}
    ) async -> Value {
        await withTaskCancellationHandler {
            await wait {
                register()
                if deadline != 0 {
                    armTimer(
                        DeadlineTimer.shared.schedule(at: deadline) {
                            if self.reply(timedOut()) { gaveUp() }
                        })
                }
            }
        } onCancel: {
            if reply(cancelled()) { gaveUp() }
        }
    }

    /// Gives the reply unless someone already did.
    /// - Returns: whether this reply was the one delivered.
    @discardableResult
    func reply(_ value: Value) -> Bool {
        let (continuation, timer, won) = state.withLock {
            state -> (UnsafeContinuation<Value, Never>?, DeadlineTimer.Entry?, Bool) in
            if state.answered { return (nil, nil, false) }
            state.answered = true
            let continuation = state.continuation
            state.continuation = nil
            if continuation == nil { state.early = value }
            let timer = state.timer
            state.timer = nil
            return (continuation, timer, true)
        }
        if let timer { DeadlineTimer.shared.cancel(timer) }
        continuation?.resume(returning: value)
        return won
    }
}
