import Histogram
import Metrics
import Synchronization

/// Per-tool counters and latency histograms, readable through the API and recorded through
/// swift-metrics (whatever backend the executable bootstrapped; none in the CLI).
///
/// Metric dimensions are bounded: plugin, tool, outcome. Never argument values. The series (Prometheus names):
/// `toolhost_calls_total{plugin,tool,outcome}` (outcome: `success`, `cached` or an error code),
/// `toolhost_call_duration_seconds{plugin,tool}` (a histogram), `toolhost_call_timeouts_total{plugin,tool}`,
/// `toolhost_call_retries_total{plugin,tool}`, `toolhost_cache_hits_total` and `toolhost_cache_misses_total{plugin,tool}`.
///
/// Besides the totals it keeps what the insights API shows of the recent past, in memory fixed per tool: calls per
/// second (60 buckets of a second), per minute (60 of a minute) and each tool's calls in the last minute (12 of
/// 5 s), and the failures by code, tool and plugin (``ErrorPatterns``).
final class StatisticsRecorder: Sendable {
    /// How a call ended, for the counters.
    enum Outcome: Sendable {
        case success(cached: Bool)
        case failure(ToolError)
    }

    /// One tool's figures. The pipeline looks it up once per tool (`tool(_:plugin:)`) and keeps it, so a call
    /// records without hashing the tool's name.
    final class Tool: @unchecked Sendable {
        /// A read of the latency histogram: the count it was read at, p50, p99 and max in microseconds.
        typealias Latency = (count: UInt64, p50: Double, p99: Double, max: Double)

        let name: String
        let plugin: String
        // Guarded by the recorder's lock.
        var calls = 0
        var successes = 0
        var errors: [String: Int] = [:]
        var hits = 0
        var misses = 0
        var retries = 0
        /// Calls in the last minute.
        var recent = WindowedCounter(buckets: 12, width: .seconds(5))
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
        /// The latency figures ``activity()`` last read from `histogram`, with the count they were read at: while no
        /// call was recorded since, they are answered again without copying the histogram or walking its counts.
        var latency: Latency?
        // Metric handles, made once per tool and outcome.
        var counters: [String: Counter] = [:]
        // The two outcomes of nearly every call, kept out of the dictionary (made on first use, like the others).
        var successCounter: Counter?
        var cachedCounter: Counter?
        let hitCounter: Counter
        let missCounter: Counter
        let timeoutCounter: Counter
        let retryCounter: Counter
        let timer: Metrics.Timer

        init(name: String, plugin: String) {
            self.name = name
            self.plugin = plugin
            let dimensions = [("plugin", plugin), ("tool", name)]
            hitCounter = Counter(label: "toolhost_cache_hits_total", dimensions: dimensions)
            missCounter = Counter(label: "toolhost_cache_misses_total", dimensions: dimensions)
            timeoutCounter = Counter(label: "toolhost_call_timeouts_total", dimensions: dimensions)
            retryCounter = Counter(label: "toolhost_call_retries_total", dimensions: dimensions)
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

    private struct State {
        var tools: [String: Tool] = [:]
        /// Every tool's calls, a second and a minute at a time.
        var seconds = WindowedCounter(buckets: 60, width: .seconds(1))
        var minutes = WindowedCounter(buckets: 60, width: .seconds(60))
        var calls = 0
    }

    private let state = Mutex(State())
    private let errorPatterns: ErrorPatterns
    /// Nanoseconds of a monotonic clock.
    private let clock: @Sendable () -> UInt64
    private let started: UInt64

    /// - Parameters:
    ///   - clock: nanoseconds of a monotonic clock; nil for CLOCK_MONOTONIC (tests inject their own).
    ///   - maxErrorKeys: the most tool and plugin names the error patterns keep.
    init(clock: (@Sendable () -> UInt64)? = nil, maxErrorKeys: Int = ErrorPatterns.maxKeys) {
        let clock = clock ?? { monotonicNanoseconds() }
        self.clock = clock
        self.started = clock()
        self.errorPatterns = ErrorPatterns(maxKeys: maxErrorKeys)
    }

    /// The figures of a tool, made on first use.
    func tool(_ name: String, plugin: String) -> Tool {
        state.withLock { state in
            if let existing = state.tools[name] { return existing }
            let tool = Tool(name: name, plugin: plugin)
            state.tools[name] = tool
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
        let now = clock()
        let (counter, timedOut) = state.withLock { state -> (Counter, Bool) in
            state.calls += 1
            state.seconds.add(at: now)
            state.minutes.add(at: now)
            tool.recent.add(at: now)
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
            case .failure(let error):
                tool.errors[error.code.rawValue, default: 0] += 1
                return (tool.counter(error.code.rawValue), error.code == .timeout)
            }
        }
        if case .failure(let error) = outcome {
            errorPatterns.record(
                code: error.code.rawValue, tool: tool.name, plugin: tool.plugin, message: error.message, at: now)
        }
        counter.increment()
        if timedOut { tool.timeoutCounter.increment() }
        if retries > 0 { tool.retryCounter.increment(by: retries) }
        tool.timer.recordNanoseconds(nanoseconds)
    }

    func recordCache(tool name: String, plugin: String, hit: Bool) {
        recordCache(tool(name, plugin: plugin), hit: hit)
    }

    func recordCache(_ tool: Tool, hit: Bool) {
        let counter = state.withLock { _ -> Counter in
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
        state.withLock { state in
            state.tools.values.map { tool in
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

    /// What the host has been doing: totals, recent rates, each tool's figures and the error patterns.
    ///
    /// The lock is held only to copy the counts; the percentiles are read after it is released, and only for the
    /// tools with calls recorded since the last read (a histogram is copied on write, so a call recorded meanwhile
    /// pays for one copy of its tool's; a tool without new calls costs neither the copy nor the walk).
    func activity() -> HostActivity {
        let now = clock()
        struct Copy {
            let tool: Tool
            let calls: Int
            let recent: Int
            let errors: Int
            let retries: Int
            let hits: Int
            let misses: Int
            /// Nil when `latency` is current.
            let histogram: Histogram<UInt64>?
            let latency: Tool.Latency?
        }
        let (copies, calls, lastTen, lastMinute, lastHour) = state.withLock { state in
            (
                state.tools.values.map { tool in
                    let current = tool.latency.map { $0.count == tool.histogram.totalCount } ?? false
                    return Copy(
                        tool: tool, calls: tool.calls, recent: tool.recent.sum(at: now),
                        errors: tool.calls - tool.successes, retries: tool.retries, hits: tool.hits,
                        misses: tool.misses, histogram: current ? nil : tool.histogram,
                        latency: current ? tool.latency : nil)
                },
                state.calls, state.seconds.sum(at: now, last: 10, includingCurrent: false),
                state.seconds.sum(at: now), state.minutes.sum(at: now)
            )
        }
        var read: [(Tool, Tool.Latency)] = []
        let tools = copies.map { copy in
            var latency = copy.latency ?? (0, 0, 0, 0)
            if let histogram = copy.histogram, histogram.totalCount > 0 {
                latency = (
                    histogram.totalCount, Double(histogram.valueAtPercentile(50)),
                    Double(histogram.valueAtPercentile(99)), Double(histogram.max)
                )
                read.append((copy.tool, latency))
            }
            return HostActivity.Tool(
                tool: copy.tool.name, plugin: copy.tool.plugin, calls: copy.calls, callsLastMinute: copy.recent,
                errors: copy.errors, retries: copy.retries, cacheHits: copy.hits, cacheMisses: copy.misses,
                p50: latency.p50, p99: latency.p99, max: latency.max)
        }
        if !read.isEmpty {
            state.withLock { _ in
                for (tool, latency) in read where tool.latency.map({ $0.count < latency.count }) ?? true {
                    tool.latency = latency
                }
            }
        }
        return HostActivity(
            uptime: .nanoseconds(Int64(now > started ? now - started : 0)), calls: calls,
            callsLastTenSeconds: lastTen, callsLastMinute: lastMinute, callsLastHour: lastHour, tools: tools,
            errors: errorPatterns.snapshot(at: now))
    }
}
