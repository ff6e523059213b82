import Synchronization

/// Callbacks run after the set of callable tools changed (a plugin added, replaced or removed), so a front end
/// can tell its clients (MCP `notifications/tools/list_changed`).
final class ToolChangeObservers: Sendable {
    private struct State {
        var next: UInt64 = 0
        var handlers: [UInt64: @Sendable () -> Void] = [:]
    }
    private let state = Mutex(State())

    func add(_ handler: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { state in
            state.next += 1
            state.handlers[state.next] = handler
            return state.next
        }
    }

    func remove(_ id: UInt64) {
        _ = state.withLock { $0.handlers.removeValue(forKey: id) }
    }

    /// Runs every handler on the calling thread, outside the lock.
    func notify() {
        let handlers = state.withLock { Array($0.handlers.values) }
        for handler in handlers { handler() }
    }
}

/// A registration made with ``ToolHost/observeToolChanges(_:)``; `cancel()` (or dropping the last reference)
/// stops the callbacks.
public final class ToolChangeObservation: Sendable {
    private let id: UInt64
    private weak let observers: ToolChangeObservers?

    init(id: UInt64, observers: ToolChangeObservers) {
        self.id = id
        self.observers = observers
    }

    /// Stops the callbacks. Safe to call more than once.
    public func cancel() {
        observers?.remove(id)
    }

    deinit { cancel() }
}

extension ToolHost {
    /// Calls `handler` after every change of the set of callable tools (a plugin added, replaced, removed or
    /// failed to replace is not a change). The handler runs on the thread that noticed the change: keep it short
    /// and non-blocking. Keep the returned observation alive for as long as the callbacks are wanted.
    public func observeToolChanges(_ handler: @escaping @Sendable () -> Void) -> ToolChangeObservation {
        ToolChangeObservation(id: changeObservers.add(handler), observers: changeObservers)
    }
}
