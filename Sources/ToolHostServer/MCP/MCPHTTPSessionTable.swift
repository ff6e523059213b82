import Synchronization

/// The live sessions of the Streamable HTTP transport, bounded in number and in idle time.
///
/// A session expires when it has been idle (no request, no call in flight, no open `GET` stream) for longer than
/// the idle timeout; an expired session is removed when it is next used (the client gets 404 and starts a new
/// one, as the spec tells it to) or when a new session is created. When a new session would exceed the cap,
/// expired sessions go first, then the least recently used idle one; a session with a call in flight or an open
/// stream is never evicted, so when every session is busy the new one is refused.
final class MCPHTTPSessionTable: Sendable {
    private let sessions = Mutex<[String: MCPHTTPSession]>([:])
    private let maxSessions: Int
    private let idleTimeout: Duration
    /// The clock idleness is measured by (the sessions' own, ``MCPHTTPTransport/Configuration/now``).
    private let now: @Sendable () -> ContinuousClock.Instant

    init(
        maxSessions: Int, idleTimeout: Duration, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.maxSessions = max(1, maxSessions)
        self.idleTimeout = idleTimeout
        self.now = now
    }

    /// Adds a session, making room first if the table is full.
    /// - Returns: false when the table is full of busy sessions (the new one is not added).
    func insert(_ session: MCPHTTPSession) -> Bool {
        let now = now()
        let (added, removed) = sessions.withLock { sessions -> (Bool, [MCPHTTPSession]) in
            var removed: [MCPHTTPSession] = []
            if sessions.count >= maxSessions {
                for (id, candidate) in sessions where isExpired(candidate, now: now) {
                    removed.append(candidate)
                    sessions[id] = nil
                }
            }
            if sessions.count >= maxSessions {
                let idle = sessions.values.lazy.map { ($0, $0.activity) }.filter { !$0.1.busy }
                guard let oldest = idle.min(by: { $0.1.lastActive < $1.1.lastActive })?.0 else {
                    return (false, removed)
                }
                removed.append(oldest)
                sessions[oldest.id] = nil
            }
            sessions[session.id] = session
            return (true, removed)
        }
        for session in removed { session.close() }
        return added
    }

    /// The live session with this id (an expired one is removed and not returned).
    func session(_ id: String) -> MCPHTTPSession? {
        let now = now()
        let (found, expired) = sessions.withLock { sessions -> (MCPHTTPSession?, MCPHTTPSession?) in
            guard let session = sessions[id] else { return (nil, nil) }
            if isExpired(session, now: now) {
                sessions[id] = nil
                return (nil, session)
            }
            return (session, nil)
        }
        expired?.close()
        found?.touch()
        return found
    }

    /// Removes and ends a session.
    /// - Returns: whether it existed.
    func remove(_ id: String) -> Bool {
        guard let session = sessions.withLock({ $0.removeValue(forKey: id) }) else { return false }
        session.close()
        return true
    }

    private func isExpired(_ session: MCPHTTPSession, now: ContinuousClock.Instant) -> Bool {
        let activity = session.activity
        return !activity.busy && now - activity.lastActive > idleTimeout
    }
}
