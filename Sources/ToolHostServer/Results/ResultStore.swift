import Synchronization

/// Whole results that were answered shaped to a caller's budget, kept for a while so the caller can read them
/// (`GET /v1/results/{id}`, MCP `resources/read`).
///
/// Bounded in bytes and in time: a result lives `lifetime` after it was kept, and when keeping one would pass
/// `maxBytes` the oldest go first; a result larger than `maxBytes` is not kept at all. Each result has an
/// unguessable id (128 random bits) and an owner; only `read` with the same owner finds it, and for anyone else it
/// does not exist. The clock is injected, so tests move time instead of waiting for it.
public final class ResultStore: Sendable {
    /// The store's bounds.
    public struct Configuration: Sendable, Equatable {
        /// The most bytes of results kept at once.
        public var maxBytes: Int = 64 << 20
        /// How long a result is kept.
        public var lifetime: Duration = .seconds(600)

        public init() {}
    }

    private struct Entry {
        let owner: String
        let bytes: [UInt8]
        let expires: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Ids in the order they were kept (the order they expire in); `head` is the first still in use.
        var order: [String] = []
        var head = 0
        var bytes = 0
    }

    private let configuration: Configuration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())

    /// - Parameters:
    ///   - configuration: the bounds.
    ///   - now: the clock (tests pass their own).
    public init(
        configuration: Configuration = Configuration(),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.configuration = configuration
        self.now = now
    }

    /// How long results are kept.
    public var lifetime: Duration { configuration.lifetime }

    /// Keeps a whole result.
    /// - Parameters:
    ///   - bytes: the result.
    ///   - owner: who may read it (an MCP session, the REST credentials).
    /// - Returns: its id, or nil when it is larger than the whole store.
    public func keep(_ bytes: [UInt8], owner: String) -> String? {
        guard bytes.count <= configuration.maxBytes else { return nil }
        let id = Self.makeID()
        let now = self.now()
        state.withLock { state in
            Self.expire(&state, now: now)
            while state.bytes + bytes.count > configuration.maxBytes, state.head < state.order.count {
                Self.removeOldest(&state)
            }
            state.entries[id] = Entry(owner: owner, bytes: bytes, expires: now + configuration.lifetime)
            state.order.append(id)
            state.bytes += bytes.count
        }
        return id
    }

    /// The result with this id, if it is still kept and `owner` kept it.
    public func read(_ id: String, owner: String) -> [UInt8]? {
        let now = self.now()
        return state.withLock { state in
            Self.expire(&state, now: now)
            guard let entry = state.entries[id], entry.owner == owner else { return nil }
            return entry.bytes
        }
    }

    /// The ids `owner` can read now, oldest first.
    public func ids(owner: String) -> [String] {
        let now = self.now()
        return state.withLock { state in
            Self.expire(&state, now: now)
            return state.order[state.head...].filter { state.entries[$0]?.owner == owner }
        }
    }

    /// The bytes kept now.
    public var bytesKept: Int { state.withLock { $0.bytes } }

    private static func expire(_ state: inout State, now: ContinuousClock.Instant) {
        while state.head < state.order.count, let entry = state.entries[state.order[state.head]],
            entry.expires <= now
        {
            removeOldest(&state)
        }
    }

    private static func removeOldest(_ state: inout State) {
        let id = state.order[state.head]
        state.head += 1
        if let entry = state.entries.removeValue(forKey: id) { state.bytes -= entry.bytes.count }
        // Drop the used part of the order once it is half of it, so the array stays bounded by the entries.
        if state.head > 64, state.head * 2 > state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }

    /// 128 random bits as 32 hex digits (the system's cryptographic generator).
    static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        for _ in 0..<2 {
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return text
    }
}
