// swift-tools-version:6.1
// The benchmark suites, a package of their own so that `swift build`, `swift test` and CI never build
// the harness. Run from this directory:  swift package benchmark   (see ../BENCHMARKS.md)
import PackageDescription

let package = Package(
    name: "toolhost-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "toolhost", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PipelineBenchmarks",
            dependencies: [
                .product(name: "ToolHost", package: "toolhost"),
                .product(name: "ToolHostJSON", package: "toolhost"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/PipelineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
