import Synchronization
import ToolHost

/// The end of a drain's grace period, which front ends wait for to cut their calls themselves, while their own
/// tasks still run and can answer: a REST call cut here is answered 503 "the host is shutting down" before its
/// connection closes. (When the service group cancels a front end instead, its tasks can no longer write.)
///
/// ``HostService`` starts the clock when the drain begins; ``pass()`` may also be called directly.
public final class DrainDeadline: Sendable {
    private struct State {
        var passed = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether the grace period has passed.
    public var hasPassed: Bool { state.withLock { $0.passed } }

    /// Marks the grace period as passed and wakes every waiter.
    public func pass() {
        let waiters = state.withLock { state in
            state.passed = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the grace period has passed, or at once when the calling task is cancelled.
    public func wait() async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.passed || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Runs `operation` (calls through the host), cancelling it when the grace period passes first.
    /// - Returns: what `operation` returns (calls cut this way end `cancelled`).
    func cutting<Outcome: Sendable>(_ operation: @escaping @Sendable () async -> Outcome) async -> Outcome {
        await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await operation() }
            group.addTask {
                await self.wait()
                return nil
            }
            var outcome: Outcome?
            while outcome == nil, let next = await group.next() {
                // The operation ended, or the grace passed: either way the other child is done with (a cut
                // operation returns next).
                group.cancelAll()
                outcome = next
            }
            guard let outcome else { preconditionFailure("the operation's child always returns an outcome") }
            return outcome
        }
    }
}
