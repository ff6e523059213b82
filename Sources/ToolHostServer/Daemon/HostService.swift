import Logging
import ServiceLifecycle
import ToolHost

/// The host's part in a daemon's life: when the group begins its graceful shutdown (SIGTERM, SIGINT, or the MCP
/// client closing stdin) the host starts draining — new calls are refused with `plugin_unavailable`, calls already
/// running go on — and what is still running is logged.
///
/// Place it last in the `ServiceGroup`: services shut down in reverse order, so the host stops taking calls before
/// the front ends stop accepting and wait for theirs. It does not own the host's end: the daemon calls
/// ``ToolHost/shutdown()`` after the whole group has returned.
public struct HostService: Service {
    private let host: ToolHost
    private let grace: Duration
    private let deadline: DrainDeadline?
    private let logger: Logger

    /// - Parameters:
    ///   - host: the host to drain.
    ///   - grace: how long calls in flight may take.
    ///   - deadline: passed when `grace` has passed since the drain began, for front ends that cut their calls
    ///     themselves; nil: the group's own deadline cuts them.
    ///   - logger: where the shutdown is logged.
    public init(host: ToolHost, grace: Duration, deadline: DrainDeadline? = nil, logger: Logger) {
        self.host = host
        self.grace = grace
        self.deadline = deadline
        self.logger = logger
    }

    public func run() async throws {
        // Returns at the group's graceful shutdown; throws when the group is cancelled outright.
        try await gracefulShutdown()
        host.beginDrain()
        if let deadline {
            // Not a child of this service: the group must not wait for the clock when every call ends sooner.
            Task {
                try? await Task.sleep(for: grace)
                deadline.pass()
            }
        }
        let load = host.load
        logger.notice(
            "shutting down: no new calls; calls in flight may finish",
            metadata: ["calls.running": "\(load.running)", "calls.queued": "\(load.queued)", "grace": "\(grace)"])
    }
}
