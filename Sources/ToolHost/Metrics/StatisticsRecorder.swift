import Histogram
import Metrics
import Synchronization

/// Per-tool counters and latency histograms, readable through the API and recorded through
/// swift-metrics (whatever backend the executable bootstrapped; none in the CLI).
///
/// Metric dimensions are bounded: plugin, tool, outcome. Never argument values. The series (Prometheus names):
/// `toolhost_calls_total{plugin,tool,outcome}` (outcome: `success`, `cached` or an error code),
/// `toolhost_call_duration_seconds{plugin,tool}` (a histogram), `toolhost_call_timeouts_total{plugin,tool}`,
/// `toolhost_cache_hits_total` and `toolhost_cache_misses_total{plugin,tool}`.
final class StatisticsRecorder: Sendable {
    /// How a call ended, for the counters.
    enum Outcome: Sendable {
        case success(cached: Bool)
        case failure(ToolError.Code)
    }

    /// One tool's figures. The pipeline looks it up once per tool (`tool(_:plugin:)`) and keeps it, so a call
    /// records without hashing the tool's name.
    final class Tool: @unchecked Sendable {
        let name: String
        let plugin: String
        // Guarded by the recorder's lock.
        var calls = 0
        var successes = 0
        var errors: [String: Int] = [:]
        var hits = 0
        var misses = 0
        var retries = 0
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
        // Metric handles, made once per tool and outcome.
        var counters: [String: Counter] = [:]
        // The two outcomes of nearly every call, kept out of the dictionary (made on first use, like the others).
        var successCounter: Counter?
        var cachedCounter: Counter?
        let hitCounter: Counter
        let missCounter: Counter
        let timeoutCounter: Counter
        let timer: Metrics.Timer

        init(name: String, plugin: String) {
            self.name = name
            self.plugin = plugin
            let dimensions = [("plugin", plugin), ("tool", name)]
            hitCounter = Counter(label: "toolhost_cache_hits_total", dimensions: dimensions)
            missCounter = Counter(label: "toolhost_cache_misses_total", dimensions: dimensions)
            timeoutCounter = Counter(label: "toolhost_call_timeouts_total", dimensions: dimensions)
            timer = Metrics.Timer(label: "toolhost_call_duration_seconds", dimensions: dimensions)
        }

        func counter(_ outcome: String) -> Counter {
            if let counter = counters[outcome] { return counter }
            let counter = Counter(
                label: "toolhost_calls_total", dimensions: [("plugin", plugin), ("tool", name), ("outcome", outcome)])
            counters[outcome] = counter
            return counter
        }
    }

    private let tools = Mutex<[String: Tool]>([:])

    /// The figures of a tool, made on first use.
    func tool(_ name: String, plugin: String) -> Tool {
        tools.withLock { tools in
            if let existing = tools[name] { return existing }
            let tool = Tool(name: name, plugin: plugin)
            tools[name] = tool
            return tool
        }
    }

    func record(tool name: String, plugin: String, outcome: Outcome, duration: Duration, retries: Int) {
        record(tool(name, plugin: plugin), outcome: outcome, duration: duration, retries: retries)
    }

    func record(_ tool: Tool, outcome: Outcome, duration: Duration, retries: Int) {
        let (seconds, attoseconds) = duration.components  // one 128-bit division, not four
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let microseconds = nanoseconds / 1_000
        let (counter, timedOut) = tools.withLock { _ -> (Counter, Bool) in
            tool.calls += 1
            tool.retries += retries
            _ = tool.histogram.record(UInt64(max(1, microseconds)))
            switch outcome {
            case .success(let cached):
                tool.successes += 1
                if cached {
                    if tool.cachedCounter == nil { tool.cachedCounter = tool.counter("cached") }
                    return (tool.cachedCounter!, false)
                }
                if tool.successCounter == nil { tool.successCounter = tool.counter("success") }
                return (tool.successCounter!, false)
            case .failure(let code):
                tool.errors[code.rawValue, default: 0] += 1
                return (tool.counter(code.rawValue), code == .timeout)
            }
        }
        counter.increment()
        if timedOut { tool.timeoutCounter.increment() }
        tool.timer.recordNanoseconds(nanoseconds)
    }

    func recordCache(tool name: String, plugin: String, hit: Bool) {
        recordCache(tool(name, plugin: plugin), hit: hit)
    }

    func recordCache(_ tool: Tool, hit: Bool) {
        let counter = tools.withLock { _ -> Counter in
            if hit {
                tool.hits += 1
                return tool.hitCounter
            } else {
                tool.misses += 1
                return tool.missCounter
            }
        }
        counter.increment()
    }

    func snapshot() -> [ToolStatistics] {
        tools.withLock { tools in
            tools.values.map { tool in
                let histogram = tool.histogram
                let empty = histogram.totalCount == 0
                return ToolStatistics(
                    tool: tool.name, calls: tool.calls, successes: tool.successes, errors: tool.errors,
                    cacheHits: tool.hits, cacheMisses: tool.misses, retries: tool.retries,
                    latency: .init(
                        p50: empty ? 0 : Double(histogram.valueAtPercentile(50)),
                        p90: empty ? 0 : Double(histogram.valueAtPercentile(90)),
                        p99: empty ? 0 : Double(histogram.valueAtPercentile(99)),
                        max: empty ? 0 : Double(histogram.max),
                        mean: empty ? 0 : histogram.mean))
            }.sorted { $0.tool < $1.tool }
        }
    }
}
