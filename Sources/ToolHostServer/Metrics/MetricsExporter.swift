import Foundation
import Hummingbird
import Metrics
import NIOCore
import Prometheus
import Synchronization
import ToolHost

/// `GET /metrics`: everything the host records through swift-metrics (calls, durations, cache, timeouts, retries,
/// plugin loads), plus what is read at each scrape: calls in flight and queued, plugins by state, tools listed, the
/// cache's entries, bytes and evictions, the process's resident memory and its peak, and each plugin's worker
/// processes and their resident memory (from the daemon's ``MemorySampler``, as of its latest sample).
///
/// The executable bootstraps swift-metrics with ``makeFactory(registry:)`` before it creates the `ToolHost`;
/// this type only reads the registry and sets its own gauges, so it is harmless where nothing was bootstrapped.
public final class MetricsExporter: Sendable {
    /// The registry the swift-metrics factory writes into.
    public let registry: PrometheusCollectorRegistry
    private let host: ToolHost
    private let running: Prometheus.Gauge
    private let queued: Prometheus.Gauge
    private let tools: Prometheus.Gauge
    private let quarantined: Prometheus.Gauge
    private let rejectedUpdates: Prometheus.Gauge
    private let unreadable: Prometheus.Gauge
    private let plugins: [(PluginInfo.State, Prometheus.Gauge)]
    private let residentMemory: Prometheus.Gauge
    private let peakResidentMemory: Prometheus.Gauge
    private let cacheEntries: Prometheus.Gauge
    private let cacheBytes: Prometheus.Gauge
    private let cacheEvictions: Prometheus.Counter
    /// The cache's evictions when `cacheEvictions` was last brought up to date.
    private let cacheEvictionsSeen = Mutex(0)
    private let memory: MemorySampler?
    /// The plugins whose worker gauges were set at the last scrape (a plugin gone since has them removed).
    private let workerPlugins = Mutex<Set<String>>([])
    private let answeredAwake: Prometheus.Counter
    /// The host's count when `answeredAwake` was last brought up to date (a counter only goes up by deltas).
    private let answeredAwakeSeen = Mutex(0)
    /// Each cache tier's gauges and counters, by tier (`l1`, `l2`).
    private let tiers: [String: TierMetrics]
    /// Each tier's figures when its counters were last brought up to date.
    private let tiersSeen = Mutex<[String: CacheTierStatus]>([:])

    private struct TierMetrics {
        let up: Prometheus.Gauge
        let entries: Prometheus.Gauge
        let bytes: Prometheus.Gauge
        let hits: Prometheus.Counter
        let misses: Prometheus.Counter
        let timeouts: Prometheus.Counter
        let errors: Prometheus.Counter
    }

    /// Buckets of `toolhost_call_duration_seconds`: from 10 µs (a cached or trivial call) to 60 s.
    public static let callDurationBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    /// The swift-metrics backend to bootstrap: Prometheus, with call-duration buckets fit for tool calls.
    /// - Parameter registry: where the metrics are kept (the one given to ``init(registry:host:)``).
    /// - Returns: a factory for `MetricsSystem.bootstrap`.
    public static func makeFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["toolhost_call_duration_seconds"] = callDurationBuckets
        return factory
    }

    /// - Parameters:
    ///   - registry: the registry the swift-metrics factory writes into.
    ///   - host: the host whose load and plugins are sampled at each scrape.
    ///   - memory: the daemon's memory samples, for the worker processes' figures (nil: no such series).
    public init(registry: PrometheusCollectorRegistry, host: ToolHost, memory: MemorySampler? = nil) {
        self.registry = registry
        self.host = host
        self.memory = memory
        running = registry.makeGauge(
            name: "toolhost_calls_in_flight", help: "Calls holding a global slot (running on a plugin thread).")
        queued = registry.makeGauge(name: "toolhost_calls_queued", help: "Calls waiting for a slot.")
        tools = registry.makeGauge(name: "toolhost_tools", help: "Tools listed from the plugins directory.")
        quarantined = registry.makeGauge(
            name: "toolhost_plugins_quarantined", help: "Plugins failing fast after repeated crashes or timeouts.")
        rejectedUpdates = registry.makeGauge(
            name: "toolhost_plugins_rejected_updates",
            help: "Plugins whose newer version failed (invalid manifest or failed load) while the old one serves.")
        unreadable = registry.makeGauge(
            name: "toolhost_plugin_folders_unreadable",
            help: "Plugin folders whose manifest cannot be read or is invalid.")
        plugins = [PluginInfo.State.listed, .loading, .loaded, .failed].map { state in
            (
                state,
                registry.makeGauge(
                    name: "toolhost_plugins", labels: [("state", state.rawValue)],
                    help: "Plugins with a valid manifest, by state (listed: not opened yet).")
            )
        }
        residentMemory = registry.makeGauge(
            name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
        peakResidentMemory = registry.makeGauge(
            name: "toolhost_resident_memory_peak_bytes",
            help: "The highest resident memory size of the process since it started (VmHWM), in bytes.")
        cacheEntries = registry.makeGauge(name: "toolhost_cache_entries", help: "Results held by the cache.")
        cacheBytes = registry.makeGauge(
            name: "toolhost_cache_bytes", help: "Bytes held by the cache (outputs plus a fixed cost per entry).")
        cacheEvictions = registry.makeCounter(
            name: "toolhost_cache_evictions_total", help: "Results evicted to keep the cache under its byte bound.")
        answeredAwake = registry.makeCounter(
            name: "toolhost_calls_answered_awake_total",
            help: "Calls answered while their caller waited awake, without suspending (limits.awakeWaitMicroseconds).")
        var tiers: [String: TierMetrics] = [:]
        for tier in ["l1", "l2"] {
            let labels = [("tier", tier)]
            tiers[tier] = TierMetrics(
                up: registry.makeGauge(
                    descriptor: .init(
                        metricName: "toolhost_cache_tier", unitName: "up",
                        helpText: "1 when the cache tier serves lookups, 0 when it is off, opening or recovering."),
                    labels: labels),
                entries: registry.makeGauge(
                    descriptor: .init(
                        metricName: "toolhost_cache_tier", unitName: "entries",
                        helpText: "Entries held by the cache tier."),
                    labels: labels),
                bytes: registry.makeGauge(
                    descriptor: .init(
                        metricName: "toolhost_cache_tier", unitName: "bytes",
                        helpText: "Bytes held by the cache tier (results plus a fixed per-entry overhead)."),
                    labels: labels),
                hits: registry.makeCounter(
                    descriptor: .init(
                        metricName: "toolhost_cache_tier", unitName: "hits_total",
                        helpText: "Lookups answered by the cache tier."),
                    labels: labels),
                misses: registry.makeCounter(
                    descriptor: .init(
                        metricName: "toolhost_cache_tier", unitName: "misses_total",
                        helpText: "Lookups the cache tier could not answer (including those past the lookup budget)."),
                    labels: labels),
                timeouts: registry.makeCounter(
                    descriptor: .init(
                        metricName: "toolhost_cache_tier", unitName: "timeouts_total",
                        helpText: "Lookups cut short by the tier's lookup budget (cache.l2BudgetMicroseconds)."),
                    labels: labels),
                errors: registry.makeCounter(
                    descriptor: .init(
                        metricName: "toolhost_cache_tier", unitName: "errors_total",
                        helpText: "Failed reads and writes of the cache tier, dropped writes and files moved aside."),
                    labels: labels))
        }
        self.tiers = tiers
    }

    /// `GET /metrics`: ``render()`` as Prometheus text.
    func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: render())))
    }

    /// Samples the gauges and renders every metric in the Prometheus text format (version 0.0.4).
    public func render() -> [UInt8] {
        let load = host.load
        running.set(Double(load.running))
        queued.set(Double(load.queued))
        tools.set(Double(host.tools().count))
        let list = host.plugins()
        for (state, gauge) in plugins {
            gauge.set(Double(list.count { $0.state == state }))
        }
        quarantined.set(Double(list.count { $0.quarantined }))
        rejectedUpdates.set(Double(list.count { $0.rejectedUpdate != nil }))
        unreadable.set(Double(host.problems().count))
        if let bytes = ProcessMemory.resident() { residentMemory.set(Double(bytes)) }
        if let bytes = ProcessMemory.peakResident() { peakResidentMemory.set(Double(bytes)) }
        let usage = host.cache.usage
        cacheEntries.set(Double(usage.entries))
        cacheBytes.set(Double(usage.bytes))
        Self.catchUp(cacheEvictions, to: usage.evictions, seen: cacheEvictionsSeen)
        if let memory { renderWorkers(memory.snapshot().workers) }
        Self.catchUp(answeredAwake, to: host.callsAnsweredAwake, seen: answeredAwakeSeen)
        sampleCacheTiers()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        registry.emit(into: &buffer)
        return buffer
    }

    /// Sets each tier's gauges and brings its counters up to the tier's own figures.
    private func sampleCacheTiers() {
        let statuses = host.cacheTiers()
        let previous = tiersSeen.withLock { seen in
            defer { for status in statuses { seen[status.tier] = status } }
            return seen
        }
        for status in statuses {
            guard let metrics = tiers[status.tier] else { continue }
            metrics.up.set(Double(status.state == "on" || status.state == "ready" ? 1 : 0))
            metrics.entries.set(Double(status.entries))
            metrics.bytes.set(Double(status.bytes))
            let before = previous[status.tier]
            for (counter, now, then) in [
                (metrics.hits, status.hits, before?.hits ?? 0), (metrics.misses, status.misses, before?.misses ?? 0),
                (metrics.timeouts, status.timeouts, before?.timeouts ?? 0),
                (metrics.errors, status.errors, before?.errors ?? 0),
            ] where now > then {
                counter.increment(by: Int64(now - then))
            }
        }
    }

    /// Brings a counter up to a total the host keeps (a counter only goes up by deltas).
    private static func catchUp(_ counter: Prometheus.Counter, to total: Int, seen: borrowing Mutex<Int>) {
        let delta = seen.withLock { seen in
            defer { seen = max(seen, total) }
            return total - seen
        }
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }

    /// `toolhost_workers{plugin}` and `toolhost_worker_resident_memory_bytes{plugin}`; a plugin without workers
    /// since the last scrape has its series removed, so the labels stay the plugins that have workers.
    private func renderWorkers(_ workers: [MemorySampler.Worker]) {
        var byPlugin: [String: (count: Int, bytes: Int)] = [:]
        for worker in workers {
            byPlugin[worker.plugin, default: (0, 0)].count += 1
            byPlugin[worker.plugin, default: (0, 0)].bytes += worker.residentBytes
        }
        let gone = workerPlugins.withLock { plugins in
            defer { plugins = Set(byPlugin.keys) }
            return plugins.subtracting(byPlugin.keys)
        }
        for plugin in gone {
            registry.unregisterGauge(workerCount(plugin))
            registry.unregisterGauge(workerMemory(plugin))
        }
        for (plugin, figures) in byPlugin {
            workerCount(plugin).set(Double(figures.count))
            workerMemory(plugin).set(Double(figures.bytes))
        }
    }

    private func workerCount(_ plugin: String) -> Prometheus.Gauge {
        registry.makeGauge(
            name: "toolhost_workers", labels: [("plugin", plugin)],
            help: "Worker processes of a plugin in process isolation, idle or running a call.")
    }

    private func workerMemory(_ plugin: String) -> Prometheus.Gauge {
        registry.makeGauge(
            name: "toolhost_worker_resident_memory_bytes", labels: [("plugin", plugin)],
            help: "Resident memory of a plugin's worker processes together, in bytes.")
    }
}
