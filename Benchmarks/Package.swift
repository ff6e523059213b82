// swift-tools-version:6.1
// The benchmark suites, a package of their own so that `swift build`, `swift test` and CI never build
// the harness. Run from this directory:  swift package benchmark   (see ../BENCHMARKS.md)
import PackageDescription

let package = Package(
    name: "toolhost-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "toolhost", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The probe fixture plugin and the bare thread handoff, shared by the suite and the profile driver.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "ToolHost", package: "toolhost"),
                .product(name: "ToolHostJSON", package: "toolhost"),
            ],
            path: "Sources/BenchmarkSupport"
        ),
        // One scenario in a tight loop with no harness, for perf (see ../BENCHMARKS.md).
        .executableTarget(
            name: "ProfileDriver",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "ToolHost", package: "toolhost"),
                .product(name: "ToolHostJSON", package: "toolhost"),
            ],
            path: "Sources/ProfileDriver"
        ),
        // A native (C) load client for MCP over stdio and Streamable HTTP against the release `toolhost`; it spawns
        // the server itself (see ../BENCHMARKS.md, "Daemon: MCP").
        .executableTarget(name: "MCPLoad", path: "Sources/MCPLoad"),
        .executableTarget(
            name: "PipelineBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "ToolHost", package: "toolhost"),
                .product(name: "ToolHostJSON", package: "toolhost"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/PipelineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Process isolation and typed native calls; needs the root's release `toolhost` for its workers.
        .executableTarget(
            name: "HostBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "ToolHost", package: "toolhost"),
                .product(name: "ToolHostJSON", package: "toolhost"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HostBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The L2 result cache on SQLite (issue 15): L2 hit latency, and L1 hits with L2 enabled.
        .executableTarget(
            name: "CacheBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "ToolHost", package: "toolhost"),
                .product(name: "ToolHostJSON", package: "toolhost"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CacheBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Result budgets: shaping a large result to an agent's budget (issue 14).
        .executableTarget(
            name: "ShapingBenchmarks",
            dependencies: [
                .product(name: "ToolHostJSON", package: "toolhost"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ShapingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Hot add and replace through the directory watcher (issue 4).
        .executableTarget(
            name: "HotReloadBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "ToolHost", package: "toolhost"),
                .product(name: "ToolHostJSON", package: "toolhost"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HotReloadBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
