import Testing

extension Fixtures {
    /// Polls `condition` every millisecond until it holds, for at most `limit` of wall time (not a number of
    /// polls: on a loaded machine a millisecond sleep can take far longer). Records an issue naming `what` when the
    /// limit passes.
    /// - Returns: whether the condition held.
    @discardableResult
    package static func waitUntil(
        _ what: String, within limit: Duration = .seconds(60), _ condition: () -> Bool
    ) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + limit
        while !condition() {
            guard clock.now < end else {
                Issue.record("timed out waiting until \(what)")
                return false
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        return true
    }

    /// `waitUntil` for a condition that must itself call the host (a call, a read of a plugin's counters).
    @discardableResult
    package static func waitUntil(
        _ what: String, within limit: Duration = .seconds(60), _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + limit
        while try await !condition() {
            guard clock.now < end else {
                Issue.record("timed out waiting until \(what)")
                return false
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}
