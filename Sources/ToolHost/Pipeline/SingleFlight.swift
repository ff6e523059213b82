import Synchronization

/// Identical cacheable calls in flight share one execution: the first (the leader) runs, the others (followers)
/// wait for its outcome, each within its own deadline.
final class SingleFlight: Sendable {
    /// One shared execution.
    final class Flight: Sendable {
        fileprivate let waiters = Mutex<[OneShot<Result<ToolResult, ToolError>>]>([])
        /// When the leader's call times out: a follower with a later deadline runs on when the leader gives up.
        let leaderDeadline: UInt64

        fileprivate init(leaderDeadline: UInt64) {
            self.leaderDeadline = leaderDeadline
        }
    }

    /// The least time a follower must have left to run on after its leader timed out: 10 ms (a run that times out
    /// costs a worker in process isolation).
    static let followerRunOnMinimum: UInt64 = 10_000_000

    private let flights = Mutex<[CacheKey: Flight]>([:])

    /// Joins the execution of `key` in flight, or starts one.
    /// - Parameter leaderDeadline: this call's deadline, kept if it leads.
    /// - Returns: the flight, and whether this call leads it.
    func join(_ key: CacheKey, leaderDeadline: @autoclosure () -> UInt64) -> (flight: Flight, leader: Bool) {
        flights.withLock { flights in
            if let existing = flights[key] { return (existing, false) }
            let flight = Flight(leaderDeadline: leaderDeadline())
            flights[key] = flight
            return (flight, true)
        }
    }

    /// Ends the leader's execution: the flight is forgotten and every follower gets the outcome, marked shared.
    func finish(_ key: CacheKey, _ flight: Flight, with result: Result<ToolResult, ToolError>) {
        let waiters = flights.withLock { flights in
            flights[key] = nil
            return flight.waiters.withLock { waiters in
                let all = waiters
                waiters = []
                return all
            }
        }
        for waiter in waiters {
            waiter.reply(
                result.map { shared in
                    var copy = shared
                    copy.shared = true
                    return copy
                })
        }
    }

    /// Waits for the leader's outcome until `deadline` (or this task's cancellation).
    /// - Returns: the outcome, or this call's own timeout or cancellation.
    func follow(_ flight: Flight, until deadline: CallDeadline, tool name: String) async -> Result<
        ToolResult, ToolError
    > {
        let reply = OneShot<Result<ToolResult, ToolError>>()
        return await reply.wait(
            until: deadline.nanoseconds,
            register: { flight.waiters.withLock { $0.append(reply) } },
            timedOut: { .failure(ToolError(.timeout, "tool '\(name)' did not finish within \(deadline)")) },
            cancelled: { .failure(ToolError(.cancelled, "the call of '\(name)' was cancelled by its caller")) })
    }

    /// Whether a follower whose leader failed with `error` runs the call itself: when the leader was cancelled by
    /// its own caller, or timed out at a deadline shorter than the follower's (with time left to be worth a run).
    static func followerRunsOn(after error: ToolError, flight: Flight, deadline: CallDeadline, now: UInt64) -> Bool {
        guard !Task.isCancelled else { return false }
        switch error.code {
        case .cancelled: return true
        case .timeout:
            return deadline.nanoseconds > flight.leaderDeadline && deadline.nanoseconds > now &+ followerRunOnMinimum
        default: return false
        }
    }
}
