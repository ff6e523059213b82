import Foundation
import Synchronization
import Testing
import ToolHost
import ToolHostJSON

/// Builds fixture plugins the way a third party would: C compiled with the system `cc` against
/// `plugin-sdk/include`, placed in a plugin directory beside a manifest.
package enum Fixtures {
    /// The repository root (this file is Tests/ToolHostTesting/Fixtures.swift).
    package static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    package static let includeDirectory = root + "/plugin-sdk/include"
    package static let fixtureSources = root + "/Tests/ToolHostTests/Fixtures"

    /// The build products directory (where `toolhost` and the bundled plugins' libraries are).
    package static let productsDirectory: String = {
        // The test bundle runs from .build/<triple>/<config>/; the products sit beside it.
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        if url.lastPathComponent == "MacOS" || url.path.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The `toolhost` binary `swift build` made, or the one `TOOLHOST_TEST_BINARY` names: the sanitizer runs
    /// (`Sanitizers/run.sh`) build no `toolhost` of their own, so their process-isolated workers run the ordinary one.
    package static let binary =
        ProcessInfo.processInfo.environment["TOOLHOST_TEST_BINARY"] ?? productsDirectory + "/toolhost"

    /// A fresh temporary directory, removed at process exit by nobody: tests use unique names.
    package static func temporaryDirectory(_ label: String = "toolhost-test") -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private static let builds = Mutex<[String: Task<String, any Error>]>([:])
    private static let buildDirectory = temporaryDirectory("toolhost-fixture-build")

    /// Compiles `source` (in Tests/ToolHostTests/Fixtures) with extra `-D` defines, once per variant even when
    /// tests ask for it in parallel (each build writes a file of its own, never one another test is copying).
    /// - Returns: the path of the shared library.
    package static func compile(_ source: String = "probe.c", defines: [String] = []) async throws -> String {
        let key = ([source] + defines).joined(separator: " ")
        let task = builds.withLock { builds in
            if let existing = builds[key] { return existing }
            let task = Task<String, any Error> {
                let output = buildDirectory + "/lib-\(UUID().uuidString).so"
                var arguments = [
                    "-std=c11", "-Wall", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden", "-I", includeDirectory,
                    fixtureSources + "/" + source, "-o", output, "-lpthread",
                ]
                arguments.append(contentsOf: defines.map { "-D" + $0 })
                let result = try await run("/usr/bin/cc", arguments)
                guard result.status == 0 else { throw FixtureError("cc failed for \(key): \(result.stderr)") }
                return output
            }
            builds[key] = task
            return task
        }
        return try await task.value
    }

    /// A tool declaration for a manifest.
    package static func tool(
        _ name: String, _ extra: JSONObject = [:], schema: JSONValue = ["type": "object"]
    ) -> JSONValue {
        var object: JSONObject = [
            "name": .string(name), "description": .string("fixture tool \(name)"), "inputSchema": schema,
        ]
        for (key, value) in extra { object.set(key, value) }
        return .object(object)
    }

    /// Every tool the probe plugin registers: the names in probe.c's tool table (`{"name", handler, flags},`),
    /// read from the source, so every manifest of the probe matches what the library registers as the fixture grows.
    package static let probeTools: [String] = {
        let source = (try? String(contentsOfFile: fixtureSources + "/probe.c", encoding: .utf8)) ?? ""
        return source.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("{\""), let close = trimmed.dropFirst(2).firstIndex(of: "\"") else { return nil }
            let name = trimmed[trimmed.index(trimmed.startIndex, offsetBy: 2)..<close]
            let rest = trimmed[close...]
            // A tool table row: `{"name", handler, FLAGS},`; the fixture's other tables have no handler and flags.
            guard rest.hasPrefix("\", "), rest.hasSuffix("},"), rest.filter({ $0 == "," }).count == 3 else {
                return nil
            }
            return String(name)
        }
    }()

    /// A manifest for the probe plugin; `overrides` replaces top-level fields, `toolPolicy` is merged into
    /// the named tools.
    package static func probeManifest(
        name: String = "probe", version: String = "1.0.0", library: String = "libprobe.so", sha256: String? = nil,
        tools: [String] = probeTools, toolPolicy: [String: JSONObject] = [:], overrides: JSONObject = [:]
    ) -> JSONValue {
        var libraryObject: JSONObject = ["file": .string(library)]
        if let sha256 { libraryObject.set("sha256", .string(sha256)) }
        var object: JSONObject = [
            "name": .string(name), "version": .string(version), "abi": ["major": 1, "minor": 0],
            "library": .object(libraryObject),
            "tools": .array(tools.map { tool($0, toolPolicy[$0] ?? [:]) }),
        ]
        for (key, value) in overrides { object.set(key, value) }
        return .object(object)
    }

    /// Makes `<pluginsDirectory>/<folder>` with the manifest and (if given) a library file.
    @discardableResult
    package static func install(
        in pluginsDirectory: String, folder: String, manifest: JSONValue, libraryFrom library: String?,
        libraryName: String = "libprobe.so"
    ) throws -> String {
        let directory = pluginsDirectory + "/" + folder
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let library {
            let target = directory + "/" + libraryName
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: library, toPath: target)
        }
        try Data(manifest.serialized()).write(to: URL(fileURLWithPath: directory + "/manifest.json"))
        return directory
    }

    /// A plugins directory holding the probe plugin built with `defines`, and a host over it.
    /// - Parameter isolated: build a library of its own, so the plugin's static counters are this test's alone.
    package static func probeHost(
        defines: [String] = [], manifest: JSONValue = probeManifest(), isolated: Bool = false,
        configure: (inout ToolHost.Configuration) -> Void = { _ in }
    ) async throws -> (ToolHost, String) {
        let plugins = temporaryDirectory("toolhost-plugins")
        let variant = isolated ? defines + ["FIXTURE_INSTANCE=\"\(UUID().uuidString)\""] : defines
        try install(in: plugins, folder: "probe", manifest: manifest, libraryFrom: try await compile(defines: variant))
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: temporaryDirectory("toolhost-store"))
        configure(&configuration)
        return (ToolHost(configuration: configuration), plugins)
    }

    package struct ProcessResult {
        package var status: Int32
        package var stdout: String
        package var stderr: String
    }

    /// Runs a program to completion, feeding it `input`. The waiting happens on a thread of its own, so
    /// tests running in parallel never starve Swift's cooperative pool (which would skew their timing).
    package static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil
    ) async throws -> ProcessResult {
        let result = try await runBytes(
            executable, arguments, input: input.map { Array($0.utf8) } ?? [], environment: environment)
        return ProcessResult(
            status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr)
    }

    /// ``run(_:_:input:environment:)`` for bytes that need not be text (compressed data).
    /// - Returns: the exit status, stdout's bytes and stderr.
    package static func runBytes(
        _ executable: String, _ arguments: [String], input: [UInt8] = [], environment: [String: String]? = nil
    ) async throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        try runBlocking(executable, arguments, input: input, environment: environment)
                    })
            }
        }
    }

    private static func runBlocking(
        _ executable: String, _ arguments: [String], input: [UInt8], environment: [String: String]?
    ) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        // Read both pipes concurrently so a chatty child cannot fill one and stall.
        let errorData = Mutex(Data())
        let errorDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = stderr.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
            errorDone.signal()
        }
        // Written on a thread of its own, so a child that answers before it has read everything cannot stall.
        let writer = stdin.fileHandleForWriting
        Thread.detachNewThread {
            if !input.isEmpty { try? writer.write(contentsOf: Data(input)) }
            try? writer.close()
        }
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errorDone.wait()
        return (
            process.terminationStatus, Array(outData), String(decoding: errorData.withLock { $0 }, as: UTF8.self)
        )
    }
}

package struct FixtureError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
