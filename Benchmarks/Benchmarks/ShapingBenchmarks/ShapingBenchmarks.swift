import Benchmark
import ToolHostJSON

// Result budgets (issue 14): shaping a 2 MB JSON result to a 16 KB budget from the tool's bytes, as a front end
// does it. See BENCHMARKS.md. A static threshold (`Thresholds/`, checked by `swift package benchmark thresholds
// check --target ShapingBenchmarks`) holds both shapings at the 5 ms (p90) and their allocations near
// today's, far below a parse into a tree. Names have no spaces: the tool writes threshold files with `_` for a space
// but looks them up by the name as it is.

/// About 2 MB: 16,000 records of the kind a search or listing tool returns.
let records: JSONValue = .array(
    (0..<16_000).map { index -> JSONValue in
        [
            "id": .int(Int64(index)), "name": .string("item \(index)"),
            "tags": ["alpha", "beta", .string("t\(index % 97)")],
            "summary": .string("a short description of item \(index), with some words in it: ünïcödé ✓"),
        ]
    })
let recordBytes = records.serialized()

/// The same records 64 arrays deep: the shaper reads the wrappers and the records in one pass, not one per level.
let nestedBytes: [UInt8] = {
    var value = records
    for _ in 0..<64 { value = .array([value]) }
    return value.serialized()
}()

let budget = 16 * 1024

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(3)
    Benchmark.defaultConfiguration.warmupIterations = 3
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal]
    /// The static threshold files hold the p90s measured on the 2-core VM; the tolerances let the time rise to the
    /// issue's 5 ms and the allocations to twice the measured plus 500, no further (a run better than the tolerance
    /// is reported too, as the tool does: then update the files).
    func ceiling(measuredNanoseconds: Int, measuredMallocs: Int) -> Benchmark.Configuration {
        Benchmark.Configuration(
            metrics: metrics,
            thresholds: [
                .wallClock: BenchmarkThresholds(absolute: [.p90: 5_000_000 - measuredNanoseconds]),
                .mallocCountTotal: BenchmarkThresholds(absolute: [.p90: measuredMallocs + 500]),
            ])
    }

    Benchmark(
        "Shape-2MB-to-16KB", configuration: ceiling(measuredNanoseconds: 2_375_679, measuredMallocs: 4670)
    ) { benchmark in
        precondition(recordBytes.count > 2_000_000, "the fixture is \(recordBytes.count) bytes")
        for _ in benchmark.scaledIterations {
            let shaped = try JSONShaper.shape(recordBytes, budget: budget)
            precondition(shaped.bytes.count <= budget)
            blackHole(shaped)
        }
    }

    Benchmark(
        "Shape-2MB-nested-64-deep-to-16KB",
        configuration: ceiling(measuredNanoseconds: 1_640_447, measuredMallocs: 119)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONShaper.shape(nestedBytes, budget: budget))
        }
    }

    // What the shaper used to do first, and no longer does: the whole result as a tree.
    Benchmark("Parse-2MB-into-a-tree-reference", configuration: Benchmark.Configuration(metrics: metrics)) {
        benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONValue.parse(recordBytes))
        }
    }
}
