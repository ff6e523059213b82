import Foundation
import Testing
import ToolHostJSON

/// Hot add and replace against the real `toolhost mcp`, deploying into its plugins directory while it runs.
@Suite struct HotReloadDaemonTests {
    /// Builds probe.c with `defines` into a file of its own.
    private func compileProbe(_ defines: [String]) throws -> String {
        let output = ServerFixtures.temporaryDirectory("toolhost-hot-lib") + "/libprobe.so"
        try ServerFixtures.compilePlugin(ServerFixtures.probeSource, to: output, defines: defines)
        return output
    }

    /// Library first, then the manifest renamed into place (the README's protocol).
    private func deploy(_ plugins: String, library: String, version: String) throws {
        let directory = plugins + "/probe"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: directory + "/.libprobe.so")
        try FileManager.default.copyItem(atPath: library, toPath: directory + "/.libprobe.so")
        #expect(rename(directory + "/.libprobe.so", directory + "/libprobe.so") == 0)
        let tools = try ServerFixtures.probeToolNames().map { name -> JSONValue in
            ["name": .string(name), "description": "fixture tool", "inputSchema": ["type": "object"]]
        }
        let manifest: JSONValue = [
            "name": "probe", "version": .string(version), "abi": ["major": 1, "minor": 0],
            "library": ["file": "libprobe.so"], "tools": .array(tools),
        ]
        try Data(manifest.serialized()).write(to: URL(fileURLWithPath: directory + "/.manifest.json"))
        #expect(rename(directory + "/.manifest.json", directory + "/manifest.json") == 0)
    }

    private func initialize(_ child: MCPChild) async throws {
        _ = try await child.call(
            "initialize",
            ["protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "tests", "version": "1"]])
        try child.send(["jsonrpc": "2.0", "method": "notifications/initialized"])
    }

    private func toolNames(_ child: MCPChild) async throws -> [String] {
        let response = try await child.call("tools/list")
        return response["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }

    /// The number `probe.count_read` reports: executions of `probe.count` in the library that answers.
    private func executions(_ child: MCPChild) async throws -> JSONValue? {
        let response = try await child.call("tools/call", ["name": "probe.count_read", "arguments": [:]])
        return response["result"]?["structuredContent"]?["executions"]
    }

    @Test func aPluginCopiedInWhileServingBecomesCallableAndTheClientIsTold() async throws {
        let plugins = ServerFixtures.temporaryDirectory("toolhost-hot-plugins")
        let child = try MCPChild(plugins: plugins)
        try await initialize(child)
        #expect(try await toolNames(child).isEmpty)
        try deploy(plugins, library: try compileProbe([]), version: "1.0.0")
        var names: [String] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while !names.contains("probe.echo"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            names = try await toolNames(child)
        }
        #expect(names.contains("probe.echo"))
        // The client was told, without asking.
        let told = ContinuousClock.now + .seconds(60)
        let listChanged: @Sendable (JSONValue) -> Bool = {
            $0["method"]?.stringValue == "notifications/tools/list_changed"
        }
        while !child.allMessages.contains(where: listChanged), ContinuousClock.now < told {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(child.allMessages.contains(where: listChanged))
        let response = try await child.call("tools/call", ["name": "probe.echo", "arguments": ["hot": true]])
        #expect(response["result"]?["structuredContent"] == ["hot": true])
        #expect(child.garbage.isEmpty)
        #expect(await child.stop() == 0)
    }

    @Test func replacingAPluginWhileASlowCallRunsLosesNoCall() async throws {
        let plugins = ServerFixtures.temporaryDirectory("toolhost-hot-plugins")
        let first = try compileProbe(["FIXTURE_INSTANCE=\"daemon-1\""])
        let second = try compileProbe(["FIXTURE_INSTANCE=\"daemon-2\"", "PLUGIN_VERSION=\"2.0.0\""])
        try deploy(plugins, library: first, version: "1.0.0")
        let child = try MCPChild(plugins: plugins)
        try await initialize(child)
        _ = try await child.call("tools/call", ["name": "probe.count", "arguments": ["ms": 0]])
        #expect(try await executions(child) == 1)

        // A slow call on version 1; version 2 is deployed while it runs; more calls go on throughout.
        let slow = try child.request("tools/call", ["name": "probe.sleep", "arguments": ["ms": 800]])
        var started: JSONValue? = 0
        let running = ContinuousClock.now + .seconds(60)
        while started != 1, ContinuousClock.now < running {
            let read = try await child.call("tools/call", ["name": "probe.sleep_read", "arguments": [:]])
            started = read["result"]?["structuredContent"]?["started"]
        }
        #expect(started == 1, "the slow call runs on version 1 before version 2 is deployed")
        try deploy(plugins, library: second, version: "2.0.0")
        var echoes: [JSONValue] = []
        var counted: JSONValue? = 1
        let deadline = ContinuousClock.now + .seconds(60)
        while counted != 0, ContinuousClock.now < deadline {
            echoes.append(try child.request("tools/call", ["name": "probe.echo", "arguments": ["n": 1]]))
            counted = try await executions(child)
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(counted == 0, "calls reach version 2 (a fresh library whose counter starts at zero)")
        // Every call made during the switch got its answer, and the slow one finished on version 1, whole.
        for id in echoes {
            let response = try await child.response(to: id)
            #expect(response["result"]?["structuredContent"] == ["n": 1], "\(response)")
        }
        let finished = try await child.response(to: slow)
        #expect(finished["result"]?["structuredContent"] == ["slept": 800, "cancelled": false])
        #expect(await child.stop() == 0)
    }
}
