import Histogram
import Metrics
import Synchronization

/// What each agent (``ToolCall/agent``) has been doing: its calls, errors by code, cache hits, latency and the tools
/// it uses, read through ``ToolHost/agents()`` and recorded through swift-metrics as
/// `toolhost_agent_calls_total{agent,outcome}` (outcome: `success`, `cached` or an error code).
///
/// Bounded however many names callers send: at most `maxTracked` agents are kept by name; calls of any further
/// agent are counted under ``overflowName``, so the table and the metric's label values stay at `maxTracked` + 1.
/// Each agent keeps at most ``maxToolsPerAgent`` tool names, the rest counted under ``overflowName`` too.
final class AgentStatistics: Sendable {
    /// Where the calls of agents past the bound (and tools past an agent's bound) are counted.
    static let overflowName = "other"
    /// The most tools named per agent.
    static let maxToolsPerAgent = 256

    /// One agent's figures, guarded by the table's lock.
    final class Agent: @unchecked Sendable {
        let name: String
        var calls = 0
        var errors: [String: Int] = [:]
        var cacheHits = 0
        var tools: [String: Int] = [:]
        var firstSeen: UInt64
        var lastSeen: UInt64
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
        var counters: [String: Counter] = [:]

        init(name: String, now: UInt64) {
            self.name = name
            self.firstSeen = now
            self.lastSeen = now
        }

        func counter(_ outcome: String) -> Counter {
            if let counter = counters[outcome] { return counter }
            let counter = Counter(
                label: "toolhost_agent_calls_total", dimensions: [("agent", name), ("outcome", outcome)])
            counters[outcome] = counter
            return counter
        }
    }

    private let agents = Mutex<[String: Agent]>([:])
    private let maxTracked: Int
    private let clock: @Sendable () -> UInt64

    /// - Parameters:
    ///   - maxTracked: the most agents kept by name (at least 1).
    ///   - clock: nanoseconds of a monotonic clock; nil for CLOCK_MONOTONIC (tests inject their own).
    init(maxTracked: Int, clock: (@Sendable () -> UInt64)? = nil) {
        self.maxTracked = max(1, maxTracked)
        self.clock = clock ?? { monotonicNanoseconds() }
    }

    /// Counts one call of `agent`.
    func record(agent name: String, tool: String, outcome: StatisticsRecorder.Outcome, duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let microseconds = (seconds * 1_000_000_000 + attoseconds / 1_000_000_000) / 1_000
        let now = clock()
        let counter = agents.withLock { agents -> Counter in
            let agent = Self.agent(named: name, in: &agents, maxTracked: maxTracked, now: now)
            agent.calls += 1
            agent.lastSeen = now
            if agent.tools[tool] != nil || agent.tools.count < Self.maxToolsPerAgent {
                agent.tools[tool, default: 0] += 1
            } else {
                agent.tools[Self.overflowName, default: 0] += 1
            }
            _ = agent.histogram.record(UInt64(max(1, microseconds)))
            switch outcome {
            case .success(let cached):
                if cached { agent.cacheHits += 1 }
                return agent.counter(cached ? "cached" : "success")
            case .failure(let error):
                agent.errors[error.code.rawValue, default: 0] += 1
                return agent.counter(error.code.rawValue)
            }
        }
        counter.increment()
    }

    /// The agent's entry, made on first use; past the bound, the overflow entry.
    private static func agent(
        named name: String, in agents: inout [String: Agent], maxTracked: Int, now: UInt64
    ) -> Agent {
        if let known = agents[name] { return known }
        // The overflow entry does not count against the bound: `maxTracked` names, plus `other`.
        let named = agents[overflowName] == nil ? agents.count : agents.count - 1
        let key = named < maxTracked ? name : overflowName
        if let overflow = agents[key] { return overflow }
        let agent = Agent(name: key, now: now)
        agents[key] = agent
        return agent
    }

    /// Every tracked agent's figures, busiest first.
    func snapshot() -> [AgentActivity] {
        let now = clock()
        return agents.withLock { agents in
            agents.values.map { agent in
                let histogram = agent.histogram
                let empty = histogram.totalCount == 0
                return AgentActivity(
                    agent: agent.name, calls: agent.calls, errors: agent.errors, cacheHits: agent.cacheHits,
                    p50: empty ? 0 : Double(histogram.valueAtPercentile(50)),
                    p99: empty ? 0 : Double(histogram.valueAtPercentile(99)), tools: agent.tools,
                    firstSeen: .nanoseconds(Int64(now &- agent.firstSeen)),
                    lastSeen: .nanoseconds(Int64(now &- agent.lastSeen)))
            }
        }.sorted { ($0.calls, $1.agent) > ($1.calls, $0.agent) }
    }
}

/// One agent's figures since the host started (``ToolHost/agents()``).
public struct AgentActivity: Sendable, Equatable {
    /// The agent's name, or `other` for the calls of agents past `agents.maxTracked`.
    public var agent: String
    public var calls: Int
    /// Failed calls by error code.
    public var errors: [String: Int]
    /// Calls answered from the cache.
    public var cacheHits: Int
    /// Latency percentiles in microseconds.
    public var p50: Double
    public var p99: Double
    /// Calls per tool (at most 256 names; the rest under `other`).
    public var tools: [String: Int]
    /// How long ago the agent's first and latest calls were recorded.
    public var firstSeen: Duration
    public var lastSeen: Duration
}
