// swift-tools-version:6.1
import PackageDescription

import class Foundation.ProcessInfo

let package = Package(
    name: "toolhost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "toolhost", targets: ["toolhost"]),
        .library(name: "ToolHost", targets: ["ToolHost"]),
        .library(name: "ToolHostJSON", targets: ["ToolHostJSON"]),
        // Bundled plugins: real shared libraries built by `swift build`, staged next to their
        // manifests by `scripts/stage-plugins.sh`.
        .library(name: "textkit", type: .dynamic, targets: ["TextKitPlugin"]),
        .library(name: "jsonkit", type: .dynamic, targets: ["JSONKitPlugin"]),
        .library(name: "regexkit", type: .dynamic, targets: ["RegexKitPlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"4.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // The HTTP server's connection cap is a NIO channel handler (Hummingbird's own server types).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Tests only: the official MCP client proves conformance (the server does not use the SDK).
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", exact: "0.12.1"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // The L2 result cache: a SQLite file (the amalgamation is vendored, so no system library is needed).
        .package(url: "https://github.com/vapor/sqlite-nio", exact: "1.13.2"),
        // gzip and deflate for HTTP answers and request bodies (zlib underneath; Debian: zlib1g-dev).
        .package(url: "https://github.com/adam-fowler/compress-nio", exact: "1.5.0"),
        // Tracing: spans through swift-distributed-tracing, exported over OTLP/HTTP when configured (no gRPC).
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.3.1"),
        .package(url: "https://github.com/swift-otel/swift-otel", exact: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // The C ABI: the one real copy of the header lives in plugin-sdk/include.
        .target(
            name: "CToolHost",
            path: "plugin-sdk",
            exclude: ["examples", "manifest.schema.json", "README.md", "rust"],
            sources: ["src"],
            publicHeadersPath: "include"
        ),
        // libffi, for typed native tools (Debian: libffi-dev).
        .systemLibrary(name: "CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
        // Small C helpers for the host (Linux calls Swift cannot import directly). Not for plugins.
        .target(name: "CToolHostShims"),
        // JSON values, a fast parser, the canonical writer and the JSON Schema validator.
        .target(name: "ToolHostJSON"),
        .target(
            name: "ToolHost",
            dependencies: [
                "CToolHost",
                "CToolHostShims",
                "CFFI",
                "ToolHostJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        // The daemon's front ends: MCP over stdio and the REST API (Hummingbird), thin adapters over `ToolHost`.
        .target(
            name: "ToolHostServer",
            dependencies: [
                "ToolHost",
                "ToolHostJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ]
        ),
        .executableTarget(
            name: "toolhost",
            dependencies: [
                "ToolHost",
                "ToolHostServer",
                "ToolHostJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TextKitPlugin",
            dependencies: ["CToolHost"],
            path: "Plugins/textkit",
            exclude: ["manifest.json"],
            sources: ["textkit.c"],
            publicHeadersPath: ".",
            cSettings: [.unsafeFlags(["-fvisibility=hidden"])]
        ),
        .target(
            name: "RegexKitPlugin",
            dependencies: ["CToolHost"],
            path: "Plugins/regexkit",
            exclude: ["manifest.json"],
            sources: ["regexkit.c"],
            publicHeadersPath: ".",
            cSettings: [.unsafeFlags(["-fvisibility=hidden"])]
        ),
        .target(
            name: "JSONKitPlugin",
            dependencies: ["CToolHost"],
            path: "Plugins/jsonkit",
            exclude: ["manifest.json"],
            sources: ["JSONKit.swift"]
        ),
        // What every test target shares: fixture plugins built from C, plugin folders, the probe's description,
        // waiting for conditions, log capture, descriptor checks.
        .target(
            name: "ToolHostTesting",
            dependencies: ["ToolHost", "ToolHostJSON", .product(name: "Logging", package: "swift-log")],
            path: "Tests/ToolHostTesting"
        ),
        // Tests only: the plugin SDK's C JSON helpers (plugin-sdk/include/toolhost/toolhost_json.h) compiled as strict
        // C99 and imported into Swift, so property tests can drive them against the host's own JSON.
        .target(
            name: "CToolHostJSONTesting",
            dependencies: ["CToolHost"],
            path: "Tests/CToolHostJSONTesting",
            cSettings: [.unsafeFlags(["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"])]
        ),
        .testTarget(
            name: "ToolHostJSONTests",
            dependencies: ["ToolHostJSON"]
        ),
        .testTarget(
            name: "ToolHostTests",
            dependencies: [
                "ToolHost", "ToolHostJSON", "ToolHostTesting", "CToolHostJSONTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]
        ),
        // The `toolhost` binary as a user runs it.
        .testTarget(
            name: "ToolHostCLITests",
            dependencies: ["ToolHost", "ToolHostJSON", "ToolHostTesting"]
        ),
        .testTarget(
            name: "ToolHostServerTests",
            dependencies: [
                "ToolHostServer", "ToolHost", "ToolHostJSON", "ToolHostTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer harnesses (`Fuzz/`), only when `TOOLHOST_FUZZ=1`: executables whose `main` hands libFuzzer's driver
// one test function, built by `Fuzz/run.sh` with `-sanitize=fuzzer,address` into a build directory of its own.
if ProcessInfo.processInfo.environment["TOOLHOST_FUZZ"] == "1" {
    let harnesses: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzJSON", ["FuzzSupport", "ToolHostJSON"]),
        ("FuzzSchema", ["FuzzSupport", "ToolHostJSON"]),
        ("FuzzManifest", ["FuzzSupport", "ToolHost", "ToolHostJSON"]),
        ("FuzzWorkerFrame", ["FuzzSupport", "ToolHost"]),
        ("FuzzMCP", ["FuzzSupport", "ToolHostServer", "ToolHost", "ToolHostJSON"]),
    ]
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Sources/FuzzSupport"))
    for harness in harnesses {
        package.targets.append(
            .executableTarget(
                name: harness.name,
                dependencies: harness.dependencies,
                path: "Fuzz/Sources/\(harness.name)",
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]
            )
        )
    }
}

// The sanitizer runs (`Sanitizers/run.sh`), only when `TOOLHOST_SANITIZE` is `thread` or `address`: the core library and
// the JSON library with their tests (ToolHostTests, ToolHostJSONTests), without the daemon, the `toolhost` executable
// and their tests. swift-otel does not compile with `-sanitize=thread` (Swift 6.3.1: "sending 'logger' risks causing
// data races" in its OTelBatchLogRecordProcessor), and the server side would not fit CI's time. Process-isolated
// workers run the ordinary `toolhost` that `swift build` made (TOOLHOST_TEST_BINARY). Under ThreadSanitizer, `Mutex`
// is a pthread mutex the sanitizer can see (Sources/ToolHost/ThreadSanitizerMutex.swift says why).
let sanitizer = ProcessInfo.processInfo.environment["TOOLHOST_SANITIZE"] ?? ""
if sanitizer == "thread" || sanitizer == "address" {
    let serverSide: Set<String> = ["ToolHostServer", "toolhost", "ToolHostCLITests", "ToolHostServerTests"]
    package.targets.removeAll { serverSide.contains($0.name) }
    package.products.removeAll { $0.name == "toolhost" }
    if sanitizer == "thread" {
        for target in package.targets where ["ToolHost", "ToolHostTesting", "ToolHostTests"].contains(target.name) {
            target.swiftSettings = (target.swiftSettings ?? []) + [.define("TOOLHOST_TSAN_LOCKS")]
        }
    }
}
