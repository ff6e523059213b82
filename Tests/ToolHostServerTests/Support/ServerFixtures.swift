import Foundation
import Synchronization
import ToolHostJSON
import ToolHostTesting

/// Fixture plugin folders and the real `toolhost` binary for the server tests, over the shared `Fixtures`.
enum ServerFixtures {
    static let root = Fixtures.root
    static let probeSource = Fixtures.fixtureSources + "/probe.c"
    static let productsDirectory = Fixtures.productsDirectory
    static let binary = productsDirectory + "/toolhost"

    static func temporaryDirectory(_ label: String) -> String {
        Fixtures.temporaryDirectory(label)
    }

    /// The probe's tools, as every fixture describes them (``Fixtures/probeTools``).
    static func probeToolNames() throws -> [String] {
        Fixtures.probeTools
    }

    private static let built = Mutex<String?>(nil)

    /// A plugins directory holding the probe plugin (compiled once per test process).
    static func probePlugins() throws -> String {
        try built.withLock { built in
            if let built { return built }
            let plugins = temporaryDirectory("toolhost-server-plugins")
            let directory = plugins + "/probe"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try compilePlugin(probeSource, to: directory + "/libprobe.so")
            let deterministic: Set<String> = ["echo"]
            let tools = try probeToolNames().map { name -> JSONValue in
                var tool: JSONObject = [
                    "name": .string(name), "description": .string("fixture tool \(name)"),
                    "inputSchema": ["type": "object"],
                ]
                if deterministic.contains(name) { tool.set("deterministic", true) }
                if name == "count" {
                    // A real schema, for the invalid_arguments paths.
                    tool.set("inputSchema", ["type": "object", "properties": ["n": ["type": "integer"]]])
                }
                return .object(tool)
            }
            let manifest: JSONValue = [
                "name": "probe", "version": "1.0.0", "abi": ["major": 1, "minor": 0],
                "library": ["file": "libprobe.so"], "tools": .array(tools),
            ]
            try Data(manifest.serialized()).write(to: URL(fileURLWithPath: directory + "/manifest.json"))
            built = plugins
            return plugins
        }
    }

    private static let builtMixed = Mutex<String?>(nil)

    /// A plugins directory holding the probe plugin, the faults plugin in process isolation (`faults.segfault`
    /// crashes its worker) and `broken`, whose library is not a shared object (it cannot load).
    static func mixedPlugins() throws -> String {
        let probe = try probePlugins() + "/probe"
        return try builtMixed.withLock { built in
            if let built { return built }
            let plugins = temporaryDirectory("toolhost-server-mixed")
            let files = FileManager.default
            try files.copyItem(atPath: probe, toPath: plugins + "/probe")
            try files.createDirectory(atPath: plugins + "/faults", withIntermediateDirectories: true)
            try compilePlugin(root + "/Tests/ToolHostTests/Fixtures/faults.c", to: plugins + "/faults/libfaults.so")
            let faults: JSONValue = [
                "name": "faults", "version": "1.0.0", "abi": ["major": 1, "minor": 1],
                "library": ["file": "libfaults.so"], "isolation": "process",
                "tools": .array(
                    [
                        "ok", "pid", "segfault", "abort", "exit", "hang_forever", "busy_loop", "allocate_forever",
                        "huge_result", "invalid_utf8", "invalid_json", "noisy", "close_stdio", "fork_linger",
                        "late_calls", "variant", "sized_result", "inits", "forbidden_syscall", "network",
                    ].map {
                        ["name": .string($0), "description": "fault \($0)", "inputSchema": ["type": "object"]]
                    }),
            ]
            try Data(faults.serialized()).write(to: URL(fileURLWithPath: plugins + "/faults/manifest.json"))
            try files.createDirectory(atPath: plugins + "/broken", withIntermediateDirectories: true)
            try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: plugins + "/broken/libbroken.so"))
            let broken: JSONValue = [
                "name": "broken", "version": "1.0.0", "abi": ["major": 1, "minor": 0],
                "library": ["file": "libbroken.so"],
                "tools": [["name": "noop", "description": "never loads", "inputSchema": ["type": "object"]]],
            ]
            try Data(broken.serialized()).write(to: URL(fileURLWithPath: plugins + "/broken/manifest.json"))
            built = plugins
            return plugins
        }
    }

    /// Builds a fixture plugin the way a third party would: `cc` against `plugin-sdk/include`.
    /// - Parameter defines: `-D` definitions (the probe's variants: `PLUGIN_VERSION="2.0.0"`, ...).
    static func compilePlugin(_ source: String, to output: String, defines: [String] = []) throws {
        let status = try runToCompletion(
            "/usr/bin/cc",
            [
                "-std=c11", "-Wall", "-shared", "-fPIC", "-fvisibility=hidden", "-I", root + "/plugin-sdk/include",
                source, "-o", output, "-lpthread",
            ] + defines.map { "-D" + $0 })
        guard status == 0 else {
            throw ServerFixtureError("cc failed for \(source) \(defines) (status \(status))")
        }
    }

    private static func runToCompletion(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

struct ServerFixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A running `toolhost mcp` child spoken to over its stdin/stdout with raw JSON-RPC lines.
final class MCPChild: Sendable {
    let process: Process
    private let stdinHandle: FileHandle
    private let lines = Mutex<[JSONValue]>([])
    private let nonJSON = Mutex<[String]>([])
    private let errorText = Mutex(Data())
    private let nextID = Atomic<Int64>(1)

    init(plugins: String, extraArguments: [String] = []) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: ServerFixtures.binary)
        process.arguments = ["mcp", "--plugins", plugins] + extraArguments
        process.environment = ProcessInfo.processInfo.environment.merging([
            "TOOLHOST_STATE_DIR": ServerFixtures.temporaryDirectory("toolhost-state")
        ]) { $1 }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        stdinHandle = input.fileHandleForWriting
        try process.run()
        let outputHandle = output.fileHandleForReading
        let errorHandle = errors.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = outputHandle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = Data(pending[pending.startIndex..<newline])
                    pending.removeSubrange(pending.startIndex...newline)
                    if let value = try? JSONValue.parse(Array(line)) {
                        lines.withLock { $0.append(value) }
                    } else {
                        nonJSON.withLock { $0.append(String(decoding: line, as: UTF8.self)) }
                    }
                }
            }
        }
        Thread.detachNewThread { [self] in
            while true {
                let chunk = errorHandle.availableData
                if chunk.isEmpty { break }
                errorText.withLock { $0.append(chunk) }
            }
        }
    }

    /// Lines on stdout that were not JSON (must stay empty).
    var garbage: [String] { nonJSON.withLock { $0 } }
    var stderr: String { String(decoding: errorText.withLock { $0 }, as: UTF8.self) }
    var allMessages: [JSONValue] { lines.withLock { $0 } }

    func sendRaw(_ text: String) throws {
        try stdinHandle.write(contentsOf: Data((text + "\n").utf8))
    }

    func send(_ message: JSONValue) throws {
        try stdinHandle.write(contentsOf: Data(message.serialized() + [0x0A]))
    }

    /// Sends a request and returns its id.
    @discardableResult
    func request(_ method: String, _ params: JSONValue = [:]) throws -> JSONValue {
        let id = JSONValue.int(nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        try send(["jsonrpc": "2.0", "id": id, "method": .string(method), "params": params])
        return id
    }

    /// Waits (bounded poll) for the response with this id.
    func response(to id: JSONValue, within seconds: Double = 60) async throws -> JSONValue {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let found = lines.withLock({ $0.first { $0["id"] == id } }) { return found }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw ServerFixtureError("no response to \(id.serializedString) within \(seconds) s; stderr: \(stderr)")
    }

    /// Sends a request and waits for its response.
    func call(_ method: String, _ params: JSONValue = [:]) async throws -> JSONValue {
        try await response(to: try request(method, params))
    }

    /// Closes stdin and waits for the exit (killing the child if it does not exit in time).
    @discardableResult
    func stop(within seconds: Double = 60) async -> Int32 {
        try? stdinHandle.close()
        return await awaitExit(process, within: seconds)
    }
}

/// Waits (bounded, polling) for a child to exit; kills it with SIGKILL if it has not by then. The bound is only so a
/// daemon that never stops cannot hang the suite: on a loaded machine a clean stop can take seconds.
/// - Returns: its termination status.
func awaitExit(_ process: Process, within seconds: Double = 60) async -> Int32 {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while process.isRunning && ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(5))
    }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    return process.terminationStatus
}
