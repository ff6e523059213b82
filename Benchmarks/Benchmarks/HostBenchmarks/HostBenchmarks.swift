import Benchmark
import BenchmarkSupport
import Foundation
import ToolHost
import ToolHostJSON

// Process isolation (issue 5) and typed native calls (issue 6), through the public API. Workers end with
// the benchmark process (PR_SET_PDEATHSIG), so no teardown is needed.
// Workers are the root package's release `toolhost` binary: build it first with
// `swift build -c release --product toolhost` in the repository root (see BENCHMARKS.md).

let workerBinary = ProbeFixture.root + "/.build/release/toolhost"

/// `libfaults.so` (Tests/ToolHostTests/Fixtures/faults.c), built once.
let faultsLibrary = ProbeFixture.compilePlugin(
    ProbeFixture.root + "/Tests/ToolHostTests/Fixtures/faults.c", to: ProbeFixture.scratch + "/libfaults.so")

let faultTools = [
    "ok", "pid", "segfault", "abort", "exit", "hang_forever", "busy_loop", "allocate_forever", "huge_result",
    "invalid_utf8", "invalid_json", "noisy", "close_stdio", "fork_linger", "late_calls", "variant", "sized_result",
    "inits", "forbidden_syscall", "network",
]

/// A host over the probe plugin, the faults plugin and the bundled mathlib, in the given isolation.
func isolatedHost(_ label: String, _ mode: IsolationMode) -> ToolHost {
    let base = ProbeFixture.scratch + "/" + label + "-\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default
    for name in ["probe", "faults", "mathlib"] {
        try! files.createDirectory(atPath: base + "/plugins/" + name, withIntermediateDirectories: true)
    }
    try! files.copyItem(atPath: ProbeFixture.library, toPath: base + "/plugins/probe/libprobe.so")
    try! Data(ProbeFixture.manifest(cachedEcho: false).utf8).write(
        to: URL(fileURLWithPath: base + "/plugins/probe/manifest.json"))
    try! files.copyItem(atPath: faultsLibrary, toPath: base + "/plugins/faults/libfaults.so")
    let tools = faultTools.map { #"{"name": "\#($0)", "description": "fault", "inputSchema": {"type": "object"}}"# }
    let faults = """
        {"name": "faults", "version": "1.0.0", "abi": {"major": 1, "minor": 1}, "library": {"file": "libfaults.so"},
         "tools": [\(tools.joined(separator: ","))]}
        """
    try! Data(faults.utf8).write(to: URL(fileURLWithPath: base + "/plugins/faults/manifest.json"))
    try! files.copyItem(
        atPath: ProbeFixture.root + "/Plugins/mathlib/manifest.json", toPath: base + "/plugins/mathlib/manifest.json")
    var configuration = ToolHost.Configuration(pluginsDirectory: base + "/plugins", libraryStore: base + "/store")
    configuration.cache.enabled = false
    configuration.isolation.mode = mode
    configuration.isolation.workerExecutable = workerBinary
    // The crash benchmark crashes a worker every iteration: no quarantine here.
    configuration.isolation.quarantine = .init(threshold: .max, window: .seconds(1), coolDown: .seconds(1))
    return ToolHost(configuration: configuration)
}

/// A bare round trip through a second process: 64 bytes into `cat` and back, over two pipes.
final class CatPeer: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    var buffer = [UInt8](repeating: 7, count: 64)

    init() {
        process.executableURL = URL(fileURLWithPath: "/bin/cat")
        process.standardInput = input
        process.standardOutput = output
        try! process.run()
    }

    func roundTrip() {
        let written = buffer.withUnsafeBytes { write(input.fileHandleForWriting.fileDescriptor, $0.baseAddress, 64) }
        precondition(written == 64)
        var got = 0
        while got < 64 {
            let count = buffer.withUnsafeMutableBytes {
                read(output.fileHandleForReading.fileDescriptor, $0.baseAddress! + got, 64 - got)
            }
            precondition(count > 0)
            got += count
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(3)
    let single = Benchmark.Configuration(
        metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 200, scalingFactor: .one,
        maxDuration: .seconds(3), maxIterations: 20_000)
    let throughput = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .cpuTotal], scalingFactor: .kilo, maxDuration: .seconds(3))
    let slow = Benchmark.Configuration(
        metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 2, scalingFactor: .one,
        maxDuration: .seconds(5), maxIterations: 200)

    // MARK: issue 5: process isolation

    Benchmark(
        "5 bare pipe round trip through a second process (cat)", configuration: single,
        closure: { (_: Benchmark, peer: CatPeer) in peer.roundTrip() },
        setup: { CatPeer() })

    // The fair baseline: a socketpair (the worker channel) to a second process that echoes frames of the size of
    // an echo call, both sides waiting as a worker call one at a time does (poll for 60 us, then sleep).
    Benchmark(
        "5 bare socketpair round trip, worker wait policy, on the calling thread", configuration: single,
        closure: { (_: Benchmark, peer: SocketEchoPeer) in peer.roundTrip() },
        setup: { SocketEchoPeer() })

    // The same round trip reached from a task through a dedicated spinning thread, as every call (and so every
    // worker call) is: the bare cost of "a task asks a thread of ours to talk to another process".
    Benchmark(
        "5 bare socketpair round trip, worker wait policy, from a task via a spinning thread", configuration: single,
        closure: { (_: Benchmark, state: (peer: SocketEchoPeer, thread: HandoffThread)) async in
            await state.thread.run { state.peer.roundTrip() }
        },
        setup: { (peer: SocketEchoPeer(), thread: HandoffThread(spin: .microseconds(50))) })

    // All of them interleaved in rounds within one benchmark, so that a noisy neighbour hits them alike: each
    // iteration times 200 calls of each, one by one (custom metrics, ns).
    let processMetric = BenchmarkMetric.custom("echo, process isolation (ns)", useScalingFactor: false)
    let inProcessMetric = BenchmarkMetric.custom("echo, in-process (ns)", useScalingFactor: false)
    let viaThreadMetric = BenchmarkMetric.custom("bare round trip, task via thread (ns)", useScalingFactor: false)
    let directMetric = BenchmarkMetric.custom("bare round trip, calling thread (ns)", useScalingFactor: false)
    Benchmark(
        "5 interleaved rounds: process echo vs bare socketpair round trips, per call",
        configuration: .init(
            metrics: [processMetric, inProcessMetric, viaThreadMetric, directMetric],
            units: [processMetric: .count, inProcessMetric: .count, viaThreadMetric: .count, directMetric: .count],
            warmupIterations: 3, scalingFactor: .one, maxDuration: .seconds(8), maxIterations: 1_000),
        closure: {
            (
                benchmark: Benchmark,
                state: (process: ToolHost, inProcess: ToolHost, peer: SocketEchoPeer, thread: HandoffThread)
            ) async in
            func nanoseconds(_ duration: Duration) -> Int {
                Int(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
            }
            let clock = ContinuousClock()
            for _ in 0..<200 {
                let elapsed = await clock.measure { blackHole(await mustCall(state.process, "probe.echo", ["a": 1])) }
                benchmark.measurement(processMetric, nanoseconds(elapsed))
            }
            for _ in 0..<200 {
                let elapsed = await clock.measure { await state.thread.run { state.peer.roundTrip() } }
                benchmark.measurement(viaThreadMetric, nanoseconds(elapsed))
            }
            for _ in 0..<200 {
                let elapsed = await clock.measure {
                    blackHole(await mustCall(state.inProcess, "probe.echo", ["a": 1]))
                }
                benchmark.measurement(inProcessMetric, nanoseconds(elapsed))
            }
            for _ in 0..<200 {
                let elapsed = clock.measure { state.peer.roundTrip() }
                benchmark.measurement(directMetric, nanoseconds(elapsed))
            }
        },
        setup: {
            let process = isolatedHost("interleaved-process", .process)
            let inProcess = isolatedHost("interleaved-inprocess", .inprocess)
            for _ in 0..<200 {
                _ = await mustCall(process, "probe.echo", ["a": 1])
                _ = await mustCall(inProcess, "probe.echo", ["a": 1])
            }
            return (
                process: process, inProcess: inProcess, peer: SocketEchoPeer(),
                thread: HandoffThread(spin: .microseconds(50))
            )
        })

    Benchmark(
        "5 echo, one at a time, process isolation", configuration: single,
        closure: { (_: Benchmark, host: ToolHost) async in blackHole(await mustCall(host, "probe.echo", ["a": 1])) },
        setup: {
            let host = isolatedHost("process-single", .process)
            for _ in 0..<100 { _ = await mustCall(host, "probe.echo", ["a": 1]) }
            return host
        })

    Benchmark(
        "5 echo, one at a time, in-process", configuration: single,
        closure: { (_: Benchmark, host: ToolHost) async in blackHole(await mustCall(host, "probe.echo", ["a": 1])) },
        setup: {
            let host = isolatedHost("inprocess-single", .inprocess)
            for _ in 0..<100 { _ = await mustCall(host, "probe.echo", ["a": 1]) }
            return host
        })

    Benchmark(
        "5 echo, 8 in flight, process isolation", configuration: throughput,
        closure: { (benchmark: Benchmark, host: ToolHost) async in
            let count = benchmark.scaledIterations.count
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    let share = count / 8 + (task < count % 8 ? 1 : 0)
                    group.addTask { for _ in 0..<share { blackHole(await mustCall(host, "probe.echo", ["a": 1])) } }
                }
            }
        },
        setup: {
            let host = isolatedHost("process-8", .process)
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { for _ in 0..<200 { _ = await mustCall(host, "probe.echo", ["a": 1]) } }
                }
            }
            return host
        })

    Benchmark(
        "5 cold worker: start to first answer", configuration: slow,
        closure: { (benchmark: Benchmark) async in
            let host = isolatedHost("cold", .process)
            benchmark.startMeasurement()
            blackHole(await mustCall(host, "faults.ok"))
            benchmark.stopMeasurement()
            host.shutdown()
        })

    Benchmark(
        "5 worker crash to the next successful call", configuration: slow,
        closure: { (benchmark: Benchmark, host: ToolHost) async in
            _ = await host.call(ToolCall(tool: "faults.segfault"))
            benchmark.startMeasurement()
            blackHole(await mustCall(host, "faults.ok"))
            benchmark.stopMeasurement()
        },
        setup: {
            let host = isolatedHost("crash", .process)
            _ = await mustCall(host, "faults.ok")
            return host
        })

    // MARK: issue 6: typed native calls

    Benchmark(
        "6 hypot, typed through libffi (mathlib), one at a time", configuration: single,
        closure: { (_: Benchmark, host: ToolHost) async in
            blackHole(await mustCall(host, "mathlib.hypot", ["x": 3, "y": 4]))
        },
        setup: {
            let host = isolatedHost("typed", .inprocess)
            for _ in 0..<100 { _ = await mustCall(host, "mathlib.hypot", ["x": 3, "y": 4]) }
            return host
        })

    Benchmark(
        "6 hypot, JSON handler (probe.hypot), one at a time", configuration: single,
        closure: { (_: Benchmark, host: ToolHost) async in
            blackHole(await mustCall(host, "probe.hypot", ["x": 3, "y": 4]))
        },
        setup: {
            let host = isolatedHost("json-hypot", .inprocess)
            for _ in 0..<100 { _ = await mustCall(host, "probe.hypot", ["x": 3, "y": 4]) }
            return host
        })

    Benchmark(
        "6 hypot, direct call (libm, no host)",
        configuration: .init(metrics: [.wallClock], timeUnits: .nanoseconds, scalingFactor: .mega),
        closure: { (benchmark: Benchmark) in
            var x = 3.0
            for _ in benchmark.scaledIterations {
                blackHole(Foundation.hypot(x, 4))
                x += 1e-9
            }
        })
}
