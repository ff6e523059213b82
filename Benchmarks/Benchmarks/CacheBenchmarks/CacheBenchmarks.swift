import Benchmark
import BenchmarkSupport
import Foundation
import ToolHost
import ToolHostJSON

// The L2 result cache (issue 15): a call whose result is in the SQLite file but not in memory. Each iteration clears
// L1 first (outside the measurement), so the measured call is an L1 miss, an L2 hit on the tier's reader thread,
// and the L1 fill: what a restarted daemon pays for its first repeated call. p50 and p99 are the figures.

/// The probe host with `echo` cached and the L2 file enabled, warmed with one stored result.
func l2Host() async -> ToolHost {
    let base = ProbeFixture.scratch + "/l2-\(UInt32.random(in: 0...UInt32.max))"
    let plugin = base + "/plugins/probe"
    let files = FileManager.default
    try! files.createDirectory(atPath: plugin, withIntermediateDirectories: true)
    try! files.copyItem(atPath: ProbeFixture.library, toPath: plugin + "/libprobe.so")
    try! Data(ProbeFixture.manifest(cachedEcho: true).utf8).write(
        to: URL(fileURLWithPath: plugin + "/manifest.json"))
    var configuration = ToolHost.Configuration(pluginsDirectory: base + "/plugins", libraryStore: base + "/store")
    configuration.cache.l2.enabled = true
    configuration.cache.l2.path = base + "/cache.sqlite"
    // Generous: a lookup past the budget would be measured as a tool call, not as an L2 hit.
    configuration.cache.l2.budget = .seconds(1)
    let host = ToolHost(configuration: configuration)
    _ = await mustCall(host, "probe.echo", ["a": 1])
    await host.persistentCache?.flush()
    return host
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 100, scalingFactor: .one,
        maxDuration: .seconds(10), maxIterations: 20_000)

    Benchmark("15 L2 hit: L1 miss answered from the SQLite file (fills L1)") { benchmark in
        let host = await l2Host()
        for _ in benchmark.scaledIterations {
            host.cache.invalidate()
            benchmark.startMeasurement()
            let result = await mustCall(host, "probe.echo", ["a": 1])
            benchmark.stopMeasurement()
            precondition(result.cached, "not answered from L2: \(String(describing: host.persistentCache?.status))")
        }
        await host.closeCache()
    }

    Benchmark("15 L1 hit with L2 enabled (L1 speed unchanged)") { benchmark in
        let host = await l2Host()
        for _ in benchmark.scaledIterations {
            benchmark.startMeasurement()
            let result = await mustCall(host, "probe.echo", ["a": 1])
            benchmark.stopMeasurement()
            precondition(result.cached)
        }
        await host.closeCache()
    }
}
