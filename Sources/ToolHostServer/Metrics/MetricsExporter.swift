import Foundation
import Metrics
import Prometheus
import Synchronization
import ToolHost

/// `GET /metrics`: everything the host records through swift-metrics (calls, durations, cache, timeouts, plugin
/// loads), plus gauges sampled at each scrape: calls in flight and queued, plugins by state, tools listed and
/// the process's resident memory.
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
    public init(registry: PrometheusCollectorRegistry, host: ToolHost) {
        self.registry = registry
        self.host = host
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
        if let bytes = Self.residentMemoryBytes() { residentMemory.set(Double(bytes)) }
        let awake = host.callsAnsweredAwake
        let delta = answeredAwakeSeen.withLock { seen in
            defer { seen = max(seen, awake) }
            return awake - seen
        }
        if delta > 0 { answeredAwake.increment(by: Int64(delta)) }
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

    /// Resident pages (the second field of /proc/self/statm) times the page size. procfs is generated from
    /// kernel memory on read: this never waits on a disk, so it may run on the cooperative pool.
    static func residentMemoryBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }
}
