import Synchronization

/// The live sessions of the Streamable HTTP transport, bounded in number, per client and in idle time.
///
/// Invariants: a session with a call in flight or an open stream (busy) is never evicted; a client's new session
/// evicts another client's session only when the table is full and that client holds at least as many sessions
/// as the newcomer's client will; a session is found only by the client (and token) that opened it.
///
/// A session expires when it has been idle (no request, no call in flight, no open `GET` stream) for longer than
/// the idle timeout; an expired session is removed when it is next used (the client gets 404 and starts a new
/// one, as the spec tells it to) or when a cap is reached. Making room for a new session, expired sessions go
/// first; then, when its client is at `maxSessionsPerClient`, that client's least recently used idle session
/// (none idle: refused, ``Insertion/clientFull``); then, when the table is at `maxSessions`, the least recently
/// used idle session of the client holding the most (the newcomer's client counted with the new one, and
/// evicting from itself on a tie), going down to clients holding as many as the newcomer's will (none idle:
/// refused, ``Insertion/tableFull``). So a client flooding `initialize` turns over its own sessions only.
final class MCPHTTPSessionTable: Sendable {
    private struct State {
        var sessions: [String: MCPHTTPSession] = [:]
        /// How many sessions each client holds (no entry: none).
        var counts: [MCPHTTPClient: Int] = [:]

        mutating func add(_ session: MCPHTTPSession) {
            sessions[session.id] = session
            counts[session.client, default: 0] += 1
        }

        mutating func remove(_ id: String) -> MCPHTTPSession? {
            guard let session = sessions.removeValue(forKey: id) else { return nil }
            let left = counts[session.client, default: 1] - 1
            counts[session.client] = left > 0 ? left : nil
            return session
        }
    }

    /// What became of a new session.
    enum Insertion: Equatable {
        /// It is in the table.
        case added
        /// Its client holds `maxSessionsPerClient` sessions, every one busy.
        case clientFull
        /// The table holds `maxSessions`, and none it may evict for this client is idle.
        case tableFull
    }

    private let state = Mutex(State())
    private let maxSessions: Int
    private let maxSessionsPerClient: Int
    private let idleTimeout: Duration
    /// The clock idleness is measured by (the sessions' own, ``MCPHTTPTransport/Configuration/now``).
    private let now: @Sendable () -> ContinuousClock.Instant

    init(
        maxSessions: Int, maxSessionsPerClient: Int, idleTimeout: Duration,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.maxSessions = max(1, maxSessions)
        self.maxSessionsPerClient = max(1, maxSessionsPerClient)
        self.idleTimeout = idleTimeout
        self.now = now
    }

    /// Adds a session, making room first if its client or the table is at its cap.
    /// - Returns: whether it was added, or which cap refused it (then it is not in the table).
    func insert(_ session: MCPHTTPSession) -> Insertion {
        let now = now()
        let client = session.client
        let (insertion, removed) = state.withLock { state -> (Insertion, [MCPHTTPSession]) in
            var removed: [MCPHTTPSession] = []
            if state.counts[client, default: 0] >= maxSessionsPerClient || state.sessions.count >= maxSessions {
                for (id, candidate) in state.sessions where isExpired(candidate, now: now) {
                    removed.append(candidate)
                    _ = state.remove(id)
                }
            }
            if state.counts[client, default: 0] >= maxSessionsPerClient {
                guard let oldest = leastRecentlyUsedIdle(in: state, of: client) else { return (.clientFull, removed) }
                removed.append(oldest)
                _ = state.remove(oldest.id)
            }
            if state.sessions.count >= maxSessions {
                // Clients by the sessions they hold, most first, the newcomer's counted with the new one and first
                // among equals; only those holding at least as many as it will may lose one.
                let newcomer = state.counts[client, default: 0] + 1
                let candidates = state.counts.map { other, count in
                    (client: other, count: other == client ? newcomer : count)
                }
                .filter { $0.count >= newcomer }
                .sorted { ($0.count, $0.client == client ? 1 : 0) > ($1.count, $1.client == client ? 1 : 0) }
                var evicted: MCPHTTPSession?
                for candidate in candidates where evicted == nil {
                    evicted = leastRecentlyUsedIdle(in: state, of: candidate.client)
                }
                guard let evicted else { return (.tableFull, removed) }
                removed.append(evicted)
                _ = state.remove(evicted.id)
            }
            state.add(session)
            return (.added, removed)
        }
        for session in removed { session.close() }
        return insertion
    }

    /// The live session with this id, when `client` with `caller`'s token opened it (to anyone else it does not
    /// exist, and is left as it is); an expired one is removed and not returned.
    func session(_ id: String, of client: MCPHTTPClient, caller: Caller) -> MCPHTTPSession? {
        let now = now()
        let (found, expired) = state.withLock { state -> (MCPHTTPSession?, MCPHTTPSession?) in
            guard let session = state.sessions[id], session.belongs(to: client, caller: caller) else {
                return (nil, nil)
            }
            if isExpired(session, now: now) { return (nil, state.remove(id)) }
            return (session, nil)
        }
        expired?.close()
        found?.touch()
        return found
    }

    /// Removes and ends a session, when `client` with `caller`'s token opened it.
    /// - Returns: whether it existed (for them).
    func remove(_ id: String, of client: MCPHTTPClient, caller: Caller) -> Bool {
        let removed = state.withLock { state -> MCPHTTPSession? in
            guard let session = state.sessions[id], session.belongs(to: client, caller: caller) else { return nil }
            return state.remove(id)
        }
        guard let removed else { return false }
        removed.close()
        return true
    }

    private func leastRecentlyUsedIdle(in state: State, of client: MCPHTTPClient) -> MCPHTTPSession? {
        state.sessions.values.lazy.filter { $0.client == client }.map { ($0, $0.activity) }.filter { !$0.1.busy }
            .min { $0.1.lastActive < $1.1.lastActive }?.0
    }

    private func isExpired(_ session: MCPHTTPSession, now: ContinuousClock.Instant) -> Bool {
        let activity = session.activity
        return !activity.busy && now - activity.lastActive > idleTimeout
    }
}
