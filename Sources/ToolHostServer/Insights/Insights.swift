import ToolHost

/// What `GET /v1/insights` answers, computed from the host's live figures when it is asked: the slowest and busiest
/// tools, the busiest plugins, the error patterns, the cache and the memory. The lists are cut at ``limit``.
public struct Insights: Sendable {
    /// One plugin's calls: its tools' figures added up.
    public struct Plugin: Sendable, Hashable {
        public var plugin: String
        public var calls: Int
        public var callsLastMinute: Int
        public var errors: Int
        /// Tools of the plugin that were called.
        public var tools: Int
    }

    /// The cache's figures.
    public struct Cache: Sendable, Hashable {
        public var entries: Int
        public var bytes: Int
        public var maxBytes: Int
        public var evictions: Int
        public var hits: Int
        public var misses: Int
        /// Hits over lookups (nil before the first lookup).
        public var hitRatio: Double? { hits + misses == 0 ? nil : Double(hits) / Double(hits + misses) }
    }

    /// The longest lists an answer may ask for (`?limit=`).
    public static let limitRange = 1...1000
    /// The lists' length when the request names none.
    public static let defaultLimit = 10

    public var activity: HostActivity
    public var running: Int
    public var queued: Int
    public var cache: Cache
    /// Nil when no sampler runs (a server without the daemon's services).
    public var memory: MemorySampler.Snapshot?
    public var limit: Int

    /// Reads the host's figures now.
    /// - Parameters:
    ///   - host: the host.
    ///   - memory: the daemon's memory samples, if a sampler runs.
    ///   - limit: the most entries in each list (the error codes are all shown).
    public init(host: ToolHost, memory: MemorySampler?, limit: Int = Insights.defaultLimit) {
        activity = host.activity()
        (running, queued) = host.load
        let usage = host.cache.usage
        cache = Cache(
            entries: usage.entries, bytes: usage.bytes, maxBytes: host.cache.maxBytes, evictions: usage.evictions,
            hits: activity.tools.reduce(0) { $0 + $1.cacheHits },
            misses: activity.tools.reduce(0) { $0 + $1.cacheMisses })
        self.memory = memory?.snapshot()
        self.limit = limit
    }

    /// Calls per second over the ten whole seconds before now.
    public var callsPerSecond: Double { Double(activity.callsLastTenSeconds) / 10 }

    /// Tools by their p99 latency, then their p50, slowest first.
    public var slowestTools: [HostActivity.Tool] {
        Self.top(limit, of: activity.tools.filter { $0.calls > 0 }) {
            ($0.p99, $0.p50, $1.tool) > ($1.p99, $1.p50, $0.tool)
        }
    }

    /// Tools by their calls in the last minute, then since the start, busiest first.
    public var busiestTools: [HostActivity.Tool] {
        Self.top(limit, of: activity.tools) {
            ($0.callsLastMinute, $0.calls, $1.tool) > ($1.callsLastMinute, $1.calls, $0.tool)
        }
    }

    /// Plugins by their calls in the last minute, then since the start, busiest first.
    public var busiestPlugins: [Plugin] {
        var plugins: [String: Plugin] = [:]
        for tool in activity.tools {
            plugins[
                tool.plugin, default: Plugin(plugin: tool.plugin, calls: 0, callsLastMinute: 0, errors: 0, tools: 0)
            ]
            .add(tool)
        }
        return Self.top(limit, of: Array(plugins.values)) {
            ($0.callsLastMinute, $0.calls, $1.plugin) > ($1.callsLastMinute, $1.calls, $0.plugin)
        }
    }

    /// The first `count` of `items` in the order `before` gives, without sorting all of them when few are asked for.
    static func top<Item>(_ count: Int, of items: [Item], by before: (Item, Item) -> Bool) -> [Item] {
        guard items.count > count else { return items.sorted(by: before) }
        var kept: [Item] = []
        kept.reserveCapacity(count + 1)
        for item in items {
            if kept.count == count, let last = kept.last, !before(item, last) { continue }
            let index = kept.firstIndex { before(item, $0) } ?? kept.endIndex
            kept.insert(item, at: index)
            if kept.count > count { kept.removeLast() }
        }
        return kept
    }

    /// The `limit` query parameter, checked.
    /// - Throws: `invalid_arguments` naming the parameter and its range.
    public static func limit(text: String?) throws(ToolError) -> Int {
        guard let text else { return defaultLimit }
        guard let value = Int(text), limitRange.contains(value) else {
            throw ToolError(
                .invalidArguments,
                "query parameter limit must be a whole number in \(limitRange.lowerBound)...\(limitRange.upperBound) "
                    + "(the most entries in each list), not '\(text.prefix(40))'")
        }
        return value
    }
}

extension Insights.Plugin {
    fileprivate mutating func add(_ tool: HostActivity.Tool) {
        calls += tool.calls
        callsLastMinute += tool.callsLastMinute
        errors += tool.errors
        tools += 1
    }
}
