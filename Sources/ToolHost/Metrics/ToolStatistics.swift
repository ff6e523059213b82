/// What happened to one tool's calls since the host started.
public struct ToolStatistics: Sendable, Hashable {
    /// Latency percentiles of completed calls (cache hits included), in microseconds.
    public struct Latency: Sendable, Hashable {
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var max: Double
        public var mean: Double
    }

    /// `<plugin>.<tool>`.
    public var tool: String
    public var calls: Int
    public var successes: Int
    /// Failed calls by error code (`timeout`, `plugin_error`, …).
    public var errors: [String: Int]
    public var timeouts: Int { errors[ToolError.Code.timeout.rawValue] ?? 0 }
    public var cacheHits: Int
    public var cacheMisses: Int
    /// Extra attempts made for transient errors.
    public var retries: Int
    public var latency: Latency
}
