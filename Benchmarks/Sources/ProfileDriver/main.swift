import BenchmarkSupport
import Foundation
import ToolHost
import ToolHostJSON

// Runs one benchmark scenario in a tight loop with no harness around it, for profilers (perf, callgrind):
//   ProfileDriver <scenario> [calls]
// scenarios: inflight (echo, 64 in flight, cache off), hits (cache hits, 64 in flight), single (echo one at a
// time, cache off), single-gauge / single-serial (one at a time, a thread-safe tool / its twin that is not),
// hit (cache hit one at a time), handoff-spin, handoff-park, handoff-spin-rrN (N spinning
// threads used in turn), and
//   ProfileDriver compare [rounds]
// which interleaves rounds of 2000 sequential pipeline calls (cache off) with rounds of 2000 bare handoffs of both
// kinds, timing every call, so that the noise of a shared machine falls on all three alike.

let arguments = CommandLine.arguments
let scenario = arguments.count > 1 ? arguments[1] : "single"
let count = arguments.count > 2 ? Int(arguments[2])! : 200_000
let echo: JSONValue = ["a": 1]

func call(_ host: ToolHost, _ arguments: JSONValue) async {
    do {
        _ = try await host.call("probe.echo", arguments: arguments)
    } catch {
        fatalError("probe.echo failed: \(error)")
    }
}

func inFlight(_ count: Int, _ body: @escaping @Sendable (Int) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for task in 0..<64 {
            let share = count / 64 + (task < count % 64 ? 1 : 0)
            group.addTask { for _ in 0..<share { await body(task) } }
        }
    }
}

/// Runs the scenario off the main actor (top-level code is main-actor isolated; every await would hop back).
@concurrent
func measure(_ scenario: String, _ count: Int) async -> Duration {
    let clock = ContinuousClock()
    var elapsed = Duration.zero
    switch scenario {
    case "inflight", "hits":
        let cached = scenario == "hits"
        let host = ProbeFixture.host("profile-\(scenario)", cachedEcho: cached)
        await inFlight(10_000) { task in await call(host, cached ? ["a": .init(integerLiteral: Int64(task))] : echo) }
        elapsed = await clock.measure {
            await inFlight(count) { task in await call(host, cached ? ["a": .init(integerLiteral: Int64(task))] : echo)
            }
        }
    case "single-gauge", "single-serial":
        // One call at a time of a thread-safe tool and of its twin that is not thread-safe (a limit of 1).
        let host = ProbeFixture.host("profile-\(scenario)", cachedEcho: false)
        let tool = scenario == "single-serial" ? "probe.serial" : "probe.gauge"
        for _ in 0..<1_000 { _ = try? await host.call(tool, arguments: ["ms": 0]) }
        elapsed = await clock.measure {
            for _ in 0..<count { _ = try? await host.call(tool, arguments: ["ms": 0]) }
        }
    case "single", "hit":
        let host = ProbeFixture.host("profile-\(scenario)", cachedEcho: scenario == "hit")
        for _ in 0..<1_000 { await call(host, echo) }
        elapsed = await clock.measure {
            for _ in 0..<count { await call(host, echo) }
        }
    case "handoff-spin", "handoff-park":
        let thread = HandoffThread(spin: scenario == "handoff-spin" ? .microseconds(50) : .zero)
        for _ in 0..<1_000 { await thread.hop() }
        elapsed = await clock.measure {
            for _ in 0..<count { await thread.hop() }
        }
    case let name where name.hasPrefix("handoff-spin-rr"):
        // N spinning handoff threads used in turn: what a pool whose calls land on different threads looks like.
        let threads = (0..<(Int(name.dropFirst("handoff-spin-rr".count)) ?? 4)).map { _ in
            HandoffThread(spin: .microseconds(50))
        }
        for index in 0..<1_000 { await threads[index % threads.count].hop() }
        elapsed = await clock.measure {
            for index in 0..<count { await threads[index % threads.count].hop() }
        }
    default:
        fatalError("unknown scenario \(scenario)")
    }
    return elapsed
}

/// Interleaved rounds of sequential pipeline calls and bare handoffs; prints per-call percentiles of each.
/// `pipeline` is the host as configured by default (a lone call waits awake for a fast answer), `pipeline-suspend`
/// a host with `awakeWait` zero (the caller always suspends); `handoff-spin` and `handoff-park` suspend the caller,
/// `handoff-awake` polls for the answer like `pipeline` does.
@concurrent
func compare(rounds: Int) async {
    let perRound = 2_000
    let host = ProbeFixture.host("profile-compare", cachedEcho: false)
    let suspending = ProbeFixture.host("profile-compare-suspend", cachedEcho: false, awakeWait: .zero)
    let spinning = HandoffThread(spin: .microseconds(50))
    let parked = HandoffThread(spin: .zero)
    let awake = HandoffThread(spin: .microseconds(50))
    let names = ["pipeline", "pipeline-suspend", "handoff-spin", "handoff-park", "handoff-awake"]
    func once(_ name: String) async {
        switch name {
        case "pipeline": await call(host, echo)
        case "pipeline-suspend": await call(suspending, echo)
        case "handoff-spin": await spinning.hop()
        case "handoff-park": await parked.hop()
        default: awake.hopAwake()
        }
    }
    for _ in 0..<1_000 {
        for name in names { await once(name) }
    }
    var samples: [String: [Int64]] = [:]
    func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
    for _ in 0..<rounds {
        for name in names {
            var round: [Int64] = []
            round.reserveCapacity(perRound)
            for _ in 0..<perRound {
                let start = ContinuousClock.now
                await once(name)
                round.append(nanoseconds(ContinuousClock.now - start))
            }
            samples[name, default: []].append(contentsOf: round)
        }
    }
    func percentile(_ sorted: [Int64], _ p: Double) -> Double {
        Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1_000
    }
    var medians: [String: Double] = [:]
    for name in names {
        let sorted = samples[name]!.sorted()
        let mean = Double(sorted.reduce(0, +)) / Double(sorted.count) / 1_000
        medians[name] = percentile(sorted, 0.5)
        print(
            name.padding(toLength: 17, withPad: " ", startingAt: 0)
                + String(
                    format: " n=%d  p25 %.2f  p50 %.2f  p90 %.2f  p99 %.2f  mean %.2f µs  over 1 ms: %d",
                    sorted.count, percentile(sorted, 0.25), percentile(sorted, 0.5), percentile(sorted, 0.9),
                    percentile(sorted, 0.99), mean, sorted.count { $0 > 1_000_000 }))
    }
    print(
        String(
            format:
                "p50 ratios: pipeline / handoff-spin %.2f, pipeline / handoff-awake %.2f, "
                + "pipeline-suspend / handoff-spin %.2f; %d toolhost-call threads",
            medians["pipeline"]! / medians["handoff-spin"]!, medians["pipeline"]! / medians["handoff-awake"]!,
            medians["pipeline-suspend"]! / medians["handoff-spin"]!, threadCount(named: "toolhost-call")))
    print("pipeline: \(host.callsAnsweredAwake) calls answered awake")
}

if scenario == "compare" {
    await compare(rounds: arguments.count > 2 ? Int(arguments[2])! : 25)
    exit(0)
}
let elapsed = await measure(scenario, count)
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(
    "\(scenario): \(count) calls in \(elapsed), \(Int(Double(count) / seconds)) calls/s, "
        + String(format: "%.2f", seconds / Double(count) * 1e6) + " µs/call, "
        + "\(threadCount(named: "toolhost-call")) toolhost-call threads")
