import Benchmark
import BenchmarkSupport
import ToolHost
import ToolHostJSON

// The targets of issue 3, measured through the public API on the probe fixture plugin (see BENCHMARKS.md).
//
// Throughput benchmarks run `scalingFactor` calls per iteration spread over 64 tasks, each calling in a loop,
// so 64 calls are in flight until the last few drain; `throughput` is calls per second.
// Latency benchmarks come in two shapes: "single" runs one call per iteration (each sample is one call, so
// p50/p99 are per-call percentiles, and the harness runs between calls), "loop" runs 1000 calls back to back
// per iteration (each sample is the mean of 1000 calls; what a busy caller sees).
// Every benchmark has a host of its own (so its own thread pool), made and warmed in `setup`.

/// How many calls are in flight in the concurrent benchmarks.
let inFlight = 64

/// The arguments of the trivial JSON tool.
let echoArguments: JSONValue = ["a": 1]

/// Runs `count` calls of `call` with `inFlight` tasks, each calling in a loop.
func runInFlight(count: Int, _ call: @escaping @Sendable (_ task: Int) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for task in 0..<inFlight {
            let share = count / inFlight + (task < count % inFlight ? 1 : 0)
            group.addTask {
                for _ in 0..<share { await call(task) }
            }
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(3)
    Benchmark.defaultConfiguration.maxIterations = 1_000_000
    Benchmark.defaultConfiguration.warmupIterations = 3

    let throughput = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .cpuTotal], scalingFactor: .kilo, maxDuration: .seconds(3))
    let single = Benchmark.Configuration(
        metrics: [.wallClock], timeUnits: .nanoseconds, warmupIterations: 1_000, scalingFactor: .one,
        maxDuration: .seconds(3), maxIterations: 200_000)
    let loop = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal], timeUnits: .nanoseconds, scalingFactor: .kilo,
        maxDuration: .seconds(3))

    // MARK: 1. throughput, cache off

    Benchmark(
        "1 pipeline echo, 64 in flight, cache off", configuration: throughput,
        closure: { (benchmark: Benchmark, host: ToolHost) async in
            let count = benchmark.scaledIterations.count
            await runInFlight(count: count) { _ in
                blackHole(await mustCall(host, "probe.echo", echoArguments))
            }
        },
        setup: {
            let host = ProbeFixture.host("throughput", cachedEcho: false)
            await runInFlight(count: 10_000) { _ in _ = await mustCall(host, "probe.echo", echoArguments) }
            return host
        })

    Benchmark(
        "1b pipeline echo, host.batch(1000, concurrency: 64), cache off", configuration: throughput,
        closure: { (benchmark: Benchmark, host: ToolHost) async in
            let calls = [ToolCall](
                repeating: ToolCall(tool: "probe.echo", arguments: echoArguments),
                count: benchmark.scaledIterations.count)
            let results = await host.batch(calls, concurrency: inFlight)
            if case .failure(let error) = results.last! { fatalError("batch failed: \(error)") }
            blackHole(results)
        },
        setup: {
            let host = ProbeFixture.host("batch", cachedEcho: false)
            await runInFlight(count: 10_000) { _ in _ = await mustCall(host, "probe.echo", echoArguments) }
            return host
        })

    // MARK: 2. cache hits

    Benchmark(
        "2 cache hit, 64 in flight (64 keys)", configuration: throughput,
        closure: { (benchmark: Benchmark, host: ToolHost) async in
            await runInFlight(count: benchmark.scaledIterations.count) { task in
                let result = await mustCall(host, "probe.echo", ["a": .init(integerLiteral: Int64(task))])
                precondition(result.cached)
            }
        },
        setup: {
            let host = ProbeFixture.host("hits", cachedEcho: true)
            for task in 0..<inFlight {
                _ = await mustCall(host, "probe.echo", ["a": .init(integerLiteral: Int64(task))])
            }
            return host
        })

    Benchmark(
        "2 cache hit latency, single", configuration: single,
        closure: { (_: Benchmark, host: ToolHost) async in
            blackHole(await mustCall(host, "probe.echo", echoArguments))
        },
        setup: {
            let host = ProbeFixture.host("hit-single", cachedEcho: true)
            _ = await mustCall(host, "probe.echo", echoArguments)
            let second = await mustCall(host, "probe.echo", echoArguments)
            precondition(second.cached)
            return host
        })

    Benchmark(
        "2 cache hit latency, loop", configuration: loop,
        closure: { (benchmark: Benchmark, host: ToolHost) async in
            for _ in benchmark.scaledIterations {
                blackHole(await mustCall(host, "probe.echo", echoArguments))
            }
        },
        setup: {
            let host = ProbeFixture.host("hit-loop", cachedEcho: true)
            _ = await mustCall(host, "probe.echo", echoArguments)
            let second = await mustCall(host, "probe.echo", echoArguments)
            precondition(second.cached)
            return host
        })

    // MARK: 3. one call at a time, next to the bare handoff

    Benchmark(
        "3 pipeline echo latency, single, cache off", configuration: single,
        closure: { (_: Benchmark, host: ToolHost) async in
            blackHole(await mustCall(host, "probe.echo", echoArguments))
        },
        setup: {
            let host = ProbeFixture.host("latency-single", cachedEcho: false)
            for _ in 0..<1_000 { _ = await mustCall(host, "probe.echo", echoArguments) }
            return host
        })

    Benchmark(
        "3 pipeline echo latency, loop, cache off", configuration: loop,
        closure: { (benchmark: Benchmark, host: ToolHost) async in
            for _ in benchmark.scaledIterations {
                blackHole(await mustCall(host, "probe.echo", echoArguments))
            }
        },
        setup: {
            let host = ProbeFixture.host("latency-loop", cachedEcho: false)
            for _ in 0..<1_000 { _ = await mustCall(host, "probe.echo", echoArguments) }
            return host
        })

    for (label, spin) in [("parked thread", Duration.zero), ("spin 50 us then park", .microseconds(50))] {
        Benchmark(
            "3 bare handoff (\(label)), single", configuration: single,
            closure: { (_: Benchmark, thread: HandoffThread) async in await thread.hop() },
            setup: { HandoffThread(spin: spin) })

        Benchmark(
            "3 bare handoff (\(label)), loop", configuration: loop,
            closure: { (benchmark: Benchmark, thread: HandoffThread) async in
                for _ in benchmark.scaledIterations { await thread.hop() }
            },
            setup: { HandoffThread(spin: spin) })
    }

    // The same, interleaved in rounds within one benchmark so that a noisy neighbour hits them alike: each
    // iteration times 200 calls of each kind, one by one (custom metrics, ns). `pipeline` is the host as
    // configured by default (a call that runs alone waits awake for a fast answer, `Limits.awakeWait`);
    // `pipeline, caller suspends` sets `awakeWait` to zero. The spinning and parked handoffs suspend the caller
    // as a `CheckedContinuation` does; the awake handoff polls for the answer as the default pipeline does.
    let pipelineMetric = BenchmarkMetric.custom("pipeline echo, cache off (ns)", useScalingFactor: false)
    let suspendingMetric = BenchmarkMetric.custom("pipeline echo, caller suspends (ns)", useScalingFactor: false)
    let spinMetric = BenchmarkMetric.custom("bare handoff, spin 50 us (ns)", useScalingFactor: false)
    let parkedMetric = BenchmarkMetric.custom("bare handoff, parked (ns)", useScalingFactor: false)
    let awakeMetric = BenchmarkMetric.custom("bare handoff, caller polls (ns)", useScalingFactor: false)
    let interleavedMetrics = [pipelineMetric, suspendingMetric, spinMetric, parkedMetric, awakeMetric]
    struct Interleaved {
        let host: ToolHost
        let suspending: ToolHost
        let spinning: HandoffThread
        let parked: HandoffThread
        let awake: HandoffThread
    }
    Benchmark(
        "3 interleaved rounds: pipeline vs bare handoffs, per call",
        configuration: .init(
            metrics: interleavedMetrics,
            units: Dictionary(uniqueKeysWithValues: interleavedMetrics.map { ($0, .count) }), warmupIterations: 5,
            scalingFactor: .one,
            maxDuration: .seconds(6), maxIterations: 1_000),
        closure: { (benchmark: Benchmark, state: Interleaved) async in
            func nanoseconds(_ duration: Duration) -> Int {
                Int(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
            }
            let clock = ContinuousClock()
            for _ in 0..<200 {
                let elapsed = await clock.measure { blackHole(await mustCall(state.host, "probe.echo", echoArguments)) }
                benchmark.measurement(pipelineMetric, nanoseconds(elapsed))
            }
            for _ in 0..<200 {
                let elapsed = await clock.measure {
                    blackHole(await mustCall(state.suspending, "probe.echo", echoArguments))
                }
                benchmark.measurement(suspendingMetric, nanoseconds(elapsed))
            }
            for _ in 0..<200 {
                let elapsed = await clock.measure { await state.spinning.hop() }
                benchmark.measurement(spinMetric, nanoseconds(elapsed))
            }
            for _ in 0..<200 {
                let elapsed = await clock.measure { await state.parked.hop() }
                benchmark.measurement(parkedMetric, nanoseconds(elapsed))
            }
            for _ in 0..<200 {
                let elapsed = clock.measure { state.awake.hopAwake() }
                benchmark.measurement(awakeMetric, nanoseconds(elapsed))
            }
        },
        setup: {
            let state = Interleaved(
                host: ProbeFixture.host("interleaved", cachedEcho: false),
                suspending: ProbeFixture.host("interleaved-suspending", cachedEcho: false, awakeWait: .zero),
                spinning: HandoffThread(spin: .microseconds(50)), parked: HandoffThread(spin: .zero),
                awake: HandoffThread(spin: .microseconds(50)))
            for _ in 0..<1_000 {
                _ = await mustCall(state.host, "probe.echo", echoArguments)
                _ = await mustCall(state.suspending, "probe.echo", echoArguments)
            }
            return state
        })

    // MARK: 4. makespan

    Benchmark(
        "4 makespan, 64 x hang 100 ms, concurrency 64",
        configuration: .init(
            metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1, scalingFactor: .one,
            maxDuration: .seconds(5), maxIterations: 30),
        closure: { (_: Benchmark, host: ToolHost) async in
            let calls = [ToolCall](repeating: ToolCall(tool: "probe.hang", arguments: ["ms": 100]), count: inFlight)
            let results = await host.batch(calls, concurrency: inFlight)
            for result in results {
                if case .failure(let error) = result { fatalError("hang failed: \(error)") }
            }
        },
        setup: {
            let host = ProbeFixture.host("makespan", cachedEcho: false)
            _ = await mustCall(host, "probe.echo", echoArguments)
            return host
        })
}
