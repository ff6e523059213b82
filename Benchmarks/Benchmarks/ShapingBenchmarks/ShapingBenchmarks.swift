import Benchmark
import ToolHostJSON

// Result budgets (issue 14): shaping a 2 MB JSON result to a 16 KB budget, as a front end does it (parse the
// tool's bytes, then shape), and the shaper alone on a parsed value. See BENCHMARKS.md.

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
let budget = 16 * 1024

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(3)
    Benchmark.defaultConfiguration.warmupIterations = 3
    let configuration = Benchmark.Configuration(metrics: [.wallClock, .cpuTotal, .mallocCountTotal])

    Benchmark("Shape 2 MB result to 16 KB (parse + shape)", configuration: configuration) { benchmark in
        precondition(recordBytes.count > 2_000_000, "the fixture is \(recordBytes.count) bytes")
        for _ in benchmark.scaledIterations {
            let value = try JSONValue.parse(recordBytes)
            let shaped = JSONShaper.shape(value, originalBytes: recordBytes.count, budget: budget)
            precondition(shaped.bytes.count <= budget)
            blackHole(shaped)
        }
    }

    Benchmark("Shape 2 MB parsed value to 16 KB (shape only)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(JSONShaper.shape(records, originalBytes: recordBytes.count, budget: budget))
        }
    }
}
