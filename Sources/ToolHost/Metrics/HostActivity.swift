/// What the host has been doing: totals since it started, recent rates, each tool's figures and the failures by
/// code, tool and plugin (``ToolHost/activity()``).
public struct HostActivity: Sendable, Hashable {
    /// One tool's figures (latencies in microseconds, since the start).
    public struct Tool: Sendable, Hashable {
        /// `<plugin>.<tool>`.
        public var tool: String
        public var plugin: String
        public var calls: Int
        /// Calls in the last minute (buckets of 5 s: the last 55 to 60 s).
        public var callsLastMinute: Int
        /// Failed calls.
        public var errors: Int
        /// Extra attempts made for transient errors.
        public var retries: Int
        public var cacheHits: Int
        public var cacheMisses: Int
        public var p50: Double
        public var p99: Double
        public var max: Double
    }

    /// Since the host started.
    public var uptime: Duration
    /// Calls that ended (successes, cache hits and failures) since the start.
    public var calls: Int
    /// Calls that ended in the ten whole seconds before now (divide by ten for a rate).
    public var callsLastTenSeconds: Int
    /// Calls that ended in the last minute (the last 59 to 60 s).
    public var callsLastMinute: Int
    /// Calls that ended in the last hour (the last 59 to 60 minutes).
    public var callsLastHour: Int
    /// Every tool that was called, in no order.
    public var tools: [Tool]
    public var errors: ErrorPatternsSnapshot
}
