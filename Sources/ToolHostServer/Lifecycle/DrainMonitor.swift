import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ToolHost

/// Watches the daemon's shutdown: logs what is still running when SIGTERM or SIGINT arrives, counts the calls
/// cancelled because the grace period passed, and, as a last resort, ends the process if the shutdown itself
/// hangs long after the grace period.
///
/// Run it in the `ServiceGroup` after the server (services shut down in reverse order, so it hears the
/// shutdown first and returns at once; the server then drains).
public final class DrainMonitor: Service, Sendable {
    private let host: ToolHost
    private let grace: Duration
    private let backstop: Duration
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var began: ContinuousClock.Instant?
        var cancelledBefore = 0
        var finished = false
    }

    /// - Parameters:
    ///   - host: the host whose calls are drained.
    ///   - grace: how long calls in flight may take to finish (the `ServiceGroup`'s graceful shutdown limit).
    ///   - backstop: past `grace`, how much longer cancelling may take before the process exits regardless.
    ///   - logger: where the shutdown is logged.
    public init(host: ToolHost, grace: Duration, backstop: Duration = .seconds(10), logger: Logger) {
        self.host = host
        self.grace = grace
        self.backstop = backstop
        self.logger = logger
    }

    public func run() async throws {
        // Returns when the group starts its graceful shutdown (or throws when it is cancelled).
        try await gracefulShutdown()
        let load = host.load
        let cancelled = cancelledCalls()
        state.withLock {
            $0.began = .now
            $0.cancelledBefore = cancelled
        }
        logger.notice(
            "shutting down: no new connections; calls in flight may finish",
            metadata: [
                "calls.running": "\(load.running)", "calls.queued": "\(load.queued)", "grace": "\(grace)",
            ])
        let limit = grace + backstop
        let logger = self.logger
        Thread.detachNewThread { [self] in
            let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
            Thread.sleep(forTimeInterval: seconds)
            if state.withLock({ $0.finished }) { return }
            logger.critical("shutdown still not finished \(limit) after the signal: exiting now")
            _exit(1)
        }
    }

    /// Marks the shutdown finished (the backstop stands down).
    /// - Returns: how many calls ended `cancelled` since the shutdown began: those the grace period cut short.
    public func finish() -> Int {
        let before = state.withLock { state -> Int? in
            state.finished = true
            return state.began == nil ? nil : state.cancelledBefore
        }
        guard let before else { return 0 }
        return max(0, cancelledCalls() - before)
    }

    private func cancelledCalls() -> Int {
        host.statisticsSnapshot().reduce(0) { $0 + ($1.errors[ToolError.Code.cancelled.rawValue] ?? 0) }
    }
}
