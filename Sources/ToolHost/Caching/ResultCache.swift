import Synchronization

/// Successful results of deterministic tools: an LRU bounded in bytes, with TTL expiry.
public final class ResultCache: Sendable {
    /// One stored result.
    struct Entry: Sendable {
        let output: [UInt8]
        let duration: Duration
        let expires: UInt64
        let plugin: String
        let tool: String
    }

    private final class Node {
        let key: CacheKey
        var entry: Entry
        var cost: Int
        var newer: Node?
        /// Unowned: the newer neighbour or the table keeps every node alive; no weak side table per move.
        unowned(unsafe) var older: Node?
        init(key: CacheKey, entry: Entry, cost: Int) {
            self.key = key
            self.entry = entry
            self.cost = cost
        }
    }

    private struct State {
        var nodes: [CacheKey: Node] = [:]
        var oldest: Node?
        var newest: Node?
        var bytes = 0
        var evictions = 0
        var hits = 0
        var misses = 0
    }

    /// Bytes charged per entry beyond its output, for the key, the node and the table.
    static let entryOverhead = 160

    /// The most bytes the cache holds (outputs plus a fixed per-entry overhead).
    public let maxBytes: Int
    private let clock: @Sendable () -> UInt64
    private let state: Mutex<State>

    /// - Parameters:
    ///   - maxBytes: the bound; the least recently used entries are evicted past it.
    ///   - clock: nanoseconds of a monotonic clock; nil for CLOCK_MONOTONIC (tests inject their own).
    public init(maxBytes: Int, clock: (@Sendable () -> UInt64)? = nil) {
        self.maxBytes = maxBytes
        self.clock = clock ?? { monotonicNanoseconds() }
        self.state = Mutex(State())
    }

    /// Entries and bytes held, and evictions so far.
    public var usage: (entries: Int, bytes: Int, evictions: Int) {
        state.withLock { ($0.nodes.count, $0.bytes, $0.evictions) }
    }

    /// The tier's figures (`GET /v1/cache`).
    public var status: CacheTierStatus {
        state.withLock {
            CacheTierStatus(
                tier: "l1", state: "on", entries: $0.nodes.count, bytes: $0.bytes, maxBytes: maxBytes, hits: $0.hits,
                misses: $0.misses)
        }
    }

    func get(_ key: CacheKey) -> Entry? {
        let now = clock()
        return state.withLock { state -> Entry? in
            guard let node = state.nodes[key] else {
                state.misses += 1
                return nil
            }
            if node.entry.expires <= now {
                Self.unlink(node, &state)
                state.nodes[key] = nil
                state.bytes -= node.cost
                state.misses += 1
                return nil
            }
            Self.unlink(node, &state)
            Self.pushNewest(node, &state)
            state.hits += 1
            return node.entry
        }
    }

    func put(_ key: CacheKey, output: [UInt8], duration: Duration, ttl: Duration, plugin: String, tool: String) {
        let cost = output.count + Self.entryOverhead
        guard cost <= maxBytes, ttl > .zero else { return }
        let ttlNanoseconds =
            UInt64(ttl.components.seconds) * 1_000_000_000
            + UInt64(ttl.components.attoseconds / 1_000_000_000)
        let entry = Entry(
            output: output, duration: duration, expires: clock() &+ ttlNanoseconds, plugin: plugin, tool: tool)
        state.withLock { state in
            if let existing = state.nodes[key] {
                state.bytes += cost - existing.cost
                existing.entry = entry
                existing.cost = cost
                Self.unlink(existing, &state)
                Self.pushNewest(existing, &state)
            } else {
                let node = Node(key: key, entry: entry, cost: cost)
                state.nodes[key] = node
                state.bytes += cost
                Self.pushNewest(node, &state)
            }
            while state.bytes > maxBytes, let oldest = state.oldest {
                Self.unlink(oldest, &state)
                state.nodes[oldest.key] = nil
                state.bytes -= oldest.cost
                state.evictions += 1
            }
        }
    }

    /// Removes entries; `plugin` and `tool` (a full `<plugin>.<tool>` name) narrow it, nil for all.
    /// - Returns: how many entries were removed.
    @discardableResult
    public func invalidate(plugin: String? = nil, tool: String? = nil) -> Int {
        state.withLock { state in
            var removed = 0
            var node = state.oldest
            while let current = node {
                node = current.newer
                if let plugin, current.entry.plugin != plugin { continue }
                if let tool, current.entry.tool != tool { continue }
                Self.unlink(current, &state)
                state.nodes[current.key] = nil
                state.bytes -= current.cost
                removed += 1
            }
            return removed
        }
    }

    private static func unlink(_ node: Node, _ state: inout State) {
        let older = node.older
        let newer = node.newer
        if let older { older.newer = newer } else if state.oldest === node { state.oldest = newer }
        if let newer { newer.older = older } else if state.newest === node { state.newest = older }
        node.newer = nil
        node.older = nil
    }

    private static func pushNewest(_ node: Node, _ state: inout State) {
        node.older = state.newest
        node.newer = nil
        state.newest?.newer = node
        state.newest = node
        if state.oldest == nil { state.oldest = node }
    }
}
