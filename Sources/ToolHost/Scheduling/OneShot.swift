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
        await withUnsafeContinuation { continuation in
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

    var isAnswered: Bool { state.withLock { $0.answered } }

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
