import ToolHostJSON

/// A capability as the registry lists it, with its providers ranked as a call of complexity 1 would find them.
public struct CapabilityInfo: Sendable {
    /// The capability's name.
    public var name: String
    /// The first provider's description.
    public var description: String
    /// The input schema every provider shares.
    public var inputSchema: JSONValue
    /// Best first.
    public var providers: [ProviderInfo]
}

/// A provider of a capability: its score and the statistics behind it.
public struct ProviderInfo: Sendable {
    /// Whether calls by capability may go to the provider.
    public struct State: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Ranked by its score.
        public static let available = State(rawValue: "available")
        /// Its plugin is quarantined: left out until the cool-down passes.
        public static let quarantined = State(rawValue: "quarantined")
        /// The cool-down passed: the next call is its probe, and an answer rejoins it.
        public static let probing = State(rawValue: "probing")
        /// Its plugin failed to load: left out until its manifest changes.
        public static let unavailable = State(rawValue: "unavailable")
    }

    /// `<plugin>.<tool>`.
    public var tool: String
    public var plugin: String
    public var state: State
    /// The score (see ``ToolHost/capabilities()``); 0 when the provider is left out.
    public var score: Double
    public var weight: Double
    /// The decayed error rate, 0...1.
    public var errorRate: Double
    /// The decayed mean time of its calls, in milliseconds.
    public var expectedMilliseconds: Double
    /// Calls by capability running on it now, and the most it takes at once.
    public var inFlight: Int
    public var limit: Int
    /// The decayed count of its calls (under ``CapabilityRouter/provenCalls``, 0.5: unproven).
    public var recentCalls: Double
    /// Calls by capability since the host started, the errors among them, and those that went on to another
    /// provider.
    public var calls: Int
    public var errors: Int
    public var failovers: Int
    /// The code of its last error, if any.
    public var lastError: String?
}
