import Benchmark
import ToolHostJSON

// Result budgets (issue 14): shaping a 2 MB JSON result to a 16 KB budget from the tool's bytes, as a front end
// does it. See BENCHMARKS.md. A static threshold (`Thresholds/`, checked by `swift package benchmark thresholds
// check --target ShapingBenchmarks`) holds the first at the 5 ms.

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
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        thresholds: [.wallClock: BenchmarkThresholds(relative: [.p90: 0], absolute: [.p90: 0])])

    Benchmark("Shape 2 MB result to 16 KB", configuration: configuration) { benchmark in
        precondition(recordBytes.count > 2_000_000, "the fixture is \(recordBytes.count) bytes")
        for _ in benchmark.scaledIterations {
            let shaped = try JSONShaper.shape(recordBytes, budget: budget)
            precondition(shaped.bytes.count <= budget)
            blackHole(shaped)
        }
    }

    Benchmark("Shape 2 MB result nested 64 deep to 16 KB", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONShaper.shape(nestedBytes, budget: budget))
        }
    }

    // What the shaper used to do first, and no longer does: the whole result as a tree.
    Benchmark("Parse 2 MB result into a tree (reference)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONValue.parse(recordBytes))
        }
    }
}
