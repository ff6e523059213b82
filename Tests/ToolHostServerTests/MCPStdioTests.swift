import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

/// Runs the real `toolhost mcp` over its stdin/stdout with newline-delimited JSON-RPC, as an agent does.
@Suite struct MCPStdioTests {
    private func start() throws -> MCPChild {
        try MCPChild(plugins: try ServerFixtures.probePlugins())
    }

    private func initialize(_ child: MCPChild, version: String = "2025-06-18") async throws -> JSONValue {
        let response = try await child.call(
            "initialize",
            [
                "protocolVersion": .string(version), "capabilities": [:],
                "clientInfo": ["name": "tests", "version": "1"],
            ])
        try child.send(["jsonrpc": "2.0", "method": "notifications/initialized"])
        return response
    }

    @Test(arguments: ["2025-06-18", "2025-03-26"])
    func initializeAnswersWithTheClientsVersion(version: String) async throws {
        let child = try start()
        let response = try await initialize(child, version: version)
        #expect(response["result"]?["protocolVersion"]?.stringValue == version)
        #expect(response["result"]?["serverInfo"]?["name"]?.stringValue == "toolhost")
        #expect(response["result"]?["capabilities"]?["tools"] != nil)
        let pong = try await child.call("ping")
        #expect(pong["result"] == [:])
        #expect(await child.stop() == 0)
    }

    /// `--mcp-result-content` chooses the copies a tool result carries: both (the default: text and, for an object,
    /// structuredContent), text alone, or structuredContent alone; a result that is not an object is text whatever
    /// the choice, its only copy.
    @Test(arguments: [("both", true, true), ("text", true, false), ("structured", false, true)])
    func theOperatorChoosesTheCopiesAToolResultCarries(choice: String, text: Bool, structured: Bool) async throws {
        let child = try MCPChild(
            plugins: try ServerFixtures.probePlugins(),
            extraArguments: choice == "both" ? [] : ["--mcp-result-content", choice])
        _ = try await initialize(child)
        let object = try await child.call("tools/call", ["name": "probe.echo", "arguments": ["copy": 1]])
        let content = object["result"]?["content"]?.arrayValue ?? []
        #expect(content.contains { $0["text"] == #"{"copy":1}"# } == text, "\(choice): \(object.serializedString)")
        #expect((object["result"]?["structuredContent"] == ["copy": 1]) == structured, "\(choice)")
        let string = try await child.call("tools/call", ["name": "probe.big", "arguments": ["bytes": 3]])
        #expect(string["result"]?["content"]?[0]?["text"] == #""xxx""#, "\(choice): a string is text")
        #expect(string["result"]?["structuredContent"] == nil)
        await child.stop()
    }

    @Test func initializeWithAnUnknownVersionGetsTheLatest() async throws {
        let child = try start()
        let response = try await initialize(child, version: "1999-01-01")
        #expect(response["result"]?["protocolVersion"]?.stringValue == "2025-06-18")
        await child.stop()
    }

    @Test func listsToolsWithSchemasAndAnnotations() async throws {
        let child = try start()
        _ = try await initialize(child)
        let response = try await child.call("tools/list")
        let tools = try #require(response["result"]?["tools"]?.arrayValue)
        let names = tools.compactMap { $0["name"]?.stringValue }
        #expect(Set(names) == Set(try ServerFixtures.probeToolNames().map { "probe." + $0 }))
        let echo = try #require(tools.first { $0["name"]?.stringValue == "probe.echo" })
        #expect(echo["description"]?.stringValue == "fixture tool echo")
        #expect(echo["inputSchema"] == ["type": "object"])
        #expect(echo["annotations"]?["idempotentHint"] == true)
        #expect(echo["annotations"]?["readOnlyHint"] == true)
        let sleep = try #require(tools.first { $0["name"]?.stringValue == "probe.sleep" })
        #expect(sleep["annotations"]?["idempotentHint"] == false)
        await child.stop()
    }

    @Test func callReturnsTextAndStructuredContent() async throws {
        let child = try start()
        _ = try await initialize(child)
        let response = try await child.call(
            "tools/call", ["name": "probe.echo", "arguments": ["word": "hi", "n": 3]])
        let result = try #require(response["result"])
        #expect(result["isError"] == false)
        #expect(result["structuredContent"] == ["word": "hi", "n": 3])
        let text = try #require(result["content"]?[0]?["text"]?.stringValue)
        #expect(try JSONValue.parse(text) == ["word": "hi", "n": 3])
        #expect(result["content"]?[0]?["type"]?.stringValue == "text")
        await child.stop()
    }

    @Test func aFailingToolIsAnErrorResultNotAProtocolError() async throws {
        let child = try start()
        _ = try await initialize(child)
        let response = try await child.call("tools/call", ["name": "probe.fail", "arguments": [:]])
        #expect(response["error"] == nil)
        #expect(response["result"]?["isError"] == true)
        let text = try #require(response["result"]?["content"]?[0]?["text"]?.stringValue)
        #expect(text.hasPrefix("plugin_error: "))
        let invalid = try await child.call("tools/call", ["name": "probe.count", "arguments": ["n": "x"]])
        #expect(invalid["result"]?["isError"] == true)
        let invalidText = try #require(invalid["result"]?["content"]?[0]?["text"]?.stringValue)
        #expect(invalidText.hasPrefix("invalid_arguments: "))
        #expect(invalidText.contains("/n: "))
        await child.stop()
    }

    @Test func theConfigFileAppliesToo() async throws {
        // The same file `serve` reads: its HTTP settings are accepted and unused, its caps apply.
        let config = try DaemonTests.writeConfig(
            #"{"listen": "127.0.0.1:9", "pluginOverrides": {"probe": {"timeoutMs": 300}}}"#)
        let child = try MCPChild(plugins: try ServerFixtures.probePlugins(), extraArguments: ["--config", config])
        _ = try await initialize(child)
        let response = try await child.call("tools/call", ["name": "probe.sleep", "arguments": ["ms": 20000]])
        #expect(response["result"]?["isError"] == true)
        let text = try #require(response["result"]?["content"]?[0]?["text"]?.stringValue)
        #expect(text.hasPrefix("timeout: ") && text.contains("the operator's timeoutMs for its plugin"), "\(text)")
        await child.stop()
    }

    @Test func aBadConfigFileStopsItNamingTheKey() async throws {
        let config = try DaemonTests.writeConfig(#"{"limits": {"maxQueuedCalls": "many"}}"#)
        let child = try MCPChild(plugins: try ServerFixtures.probePlugins(), extraArguments: ["--config", config])
        #expect(await child.stop() == 64)
        let deadline = ContinuousClock.now + .seconds(60)
        while !child.stderr.contains("maxQueuedCalls") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(child.stderr.contains("'limits.maxQueuedCalls' must be an integer"), "stderr: \(child.stderr)")
        #expect(child.stderr.contains(config))
    }

    @Test func protocolFailuresAreJSONRPCErrors() async throws {
        let child = try start()
        _ = try await initialize(child)
        let unknownMethod = try await child.call("prompts/list")
        #expect(unknownMethod["error"]?["code"] == -32601)
        let unknownTool = try await child.call("tools/call", ["name": "probe.nope", "arguments": [:]])
        #expect(unknownTool["error"]?["code"] == -32602)
        let noName = try await child.call("tools/call", ["arguments": [:]])
        #expect(noName["error"]?["code"] == -32602)
        let badArguments = try await child.call("tools/call", ["name": "probe.echo", "arguments": [1]])
        #expect(badArguments["error"]?["code"] == -32602)
        try child.sendRaw("{not json")
        try child.sendRaw(#"{"jsonrpc":"2.0","id":77}"#)
        let invalid = try await child.response(to: 77)
        #expect(invalid["error"]?["code"] == -32600)
        // The parse error has a null id; the server keeps serving after both.
        #expect(try await child.call("ping")["result"] == [:])
        #expect(child.allMessages.contains { $0["id"] == .null && $0["error"]?["code"] == -32700 })
        await child.stop()
    }

    @Test func pluginOutputOnStdoutNeverReachesTheProtocolStream() async throws {
        let child = try start()
        _ = try await initialize(child)
        let response = try await child.call("tools/call", ["name": "probe.print", "arguments": [:]])
        #expect(response["result"]?["structuredContent"] == ["printed": true])
        #expect(try await child.call("ping")["result"] == [:])
        await child.stop()
        #expect(child.garbage.isEmpty)
        // The plugin's printf went to stderr instead.
        #expect(child.stderr.contains("probe says hello on stdout"))
    }

    @Test func callsRunConcurrentlyAndAnswerAsTheyComplete() async throws {
        let child = try start()
        _ = try await initialize(child)
        // The slow call holds until the gate opens, which happens only after the fast one answered.
        let gate = Gate()
        defer { gate.open() }
        let slow = try child.request("tools/call", ["name": "probe.sleep", "arguments": ["gate": gate.argument]])
        let fast = try child.request("tools/call", ["name": "probe.echo", "arguments": ["x": 1]])
        let fastResponse = try await child.response(to: fast)
        #expect(fastResponse["result"]?["structuredContent"] == ["x": 1])
        // The slow call has not answered yet: the fast one overtook it.
        #expect(!child.allMessages.contains { $0["id"] == slow })
        gate.open()
        let slowResponse = try await child.response(to: slow)
        #expect(slowResponse["result"]?["structuredContent"]?["cancelled"] == false)
        await child.stop()
    }

    @Test func cancelledNotificationCancelsTheCall() async throws {
        let child = try start()
        _ = try await initialize(child)
        let slow = try child.request("tools/call", ["name": "probe.sleep", "arguments": ["ms": 600_000]])
        // Wait (bounded) until the plugin is really running it.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let read = try await child.call("tools/call", ["name": "probe.sleep_read", "arguments": [:]])
            if read["result"]?["structuredContent"]?["started"] == 1 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        try child.send([
            "jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": ["requestId": slow, "reason": "test"],
        ])
        var cancelled = false
        while ContinuousClock.now < deadline {
            let read = try await child.call("tools/call", ["name": "probe.sleep_read", "arguments": [:]])
            if read["result"]?["structuredContent"]?["cancelled"] == 1 {
                cancelled = true
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(cancelled)
        // A cancelled request gets no response.
        #expect(!child.allMessages.contains { $0["id"] == slow })
        // A call still running at the stop would be cut at the 10 s grace and make the exit status 1.
        #expect(await child.stop() == 0)
    }

    @Test func toolsBeforeInitializeAndASecondInitializeAreRefused() async throws {
        let child = try start()
        let early = try await child.call("tools/list")
        #expect(early["error"]?["code"] == -32600)
        #expect(early["error"]?["message"]?.stringValue?.contains("send initialize before tools/list") == true)
        let earlyCall = try await child.call("tools/call", ["name": "probe.echo", "arguments": [:]])
        #expect(earlyCall["error"]?["code"] == -32600)
        _ = try await initialize(child)
        let again = try await child.call("initialize", ["protocolVersion": "2025-06-18", "capabilities": [:]])
        #expect(again["error"]?["message"]?.stringValue?.contains("already initialized") == true)
        #expect(try await child.call("tools/list")["result"]?["tools"]?.arrayValue?.isEmpty == false)
        #expect(await child.stop() == 0)
    }

    /// A line over the 1 MiB cap is discarded up to its newline and answered with an error; the next line is served.
    @Test func aLineOverTheCapIsRefusedAndTheServerGoesOn() async throws {
        let child = try start()
        _ = try await initialize(child)
        try child.sendRaw(
            #"{"jsonrpc":"2.0","id":5,"method":"ping","params":{"pad":""#
                + String(repeating: "x", count: 3 << 20) + #""}}"#)
        #expect(try await child.call("ping")["result"] == [:])
        let refused = try #require(child.allMessages.first { $0["error"] != nil && $0["id"] == .null })
        #expect(refused["error"]?["message"]?.stringValue?.contains("1048576") == true)
        #expect(!child.allMessages.contains { $0["id"] == 5 }, "the oversized request itself is not served")
        #expect(await child.stop() == 0)
    }

    /// SIGTERM drains `toolhost mcp` as it drains `serve`: a call in flight finishes and is answered, then the
    /// process exits 0; a call past the grace period is cancelled and the exit status is 1.
    @Test func sigtermDrainsACallInFlight() async throws {
        // The grace is far longer than the call takes on any machine: it must end, not be cut.
        let child = try MCPChild(
            plugins: try ServerFixtures.probePlugins(), extraArguments: ["--grace-seconds", "600"])
        _ = try await initialize(child)
        let slow = try child.request("tools/call", ["name": "probe.sleep", "arguments": ["ms": 1500]])
        try await waitUntilSleeping(child)
        kill(child.process.processIdentifier, SIGTERM)
        let response = try await child.response(to: slow)
        #expect(response["result"]?["structuredContent"]?["slept"] == 1500)
        #expect(await awaitExit(child.process) == 0)
    }

    @Test func sigtermCutsACallPastTheGraceAndExitsOne() async throws {
        let child = try MCPChild(
            plugins: try ServerFixtures.probePlugins(), extraArguments: ["--grace-seconds", "0.2"])
        _ = try await initialize(child)
        _ = try child.request("tools/call", ["name": "probe.sleep", "arguments": ["ms": 600_000]])
        try await waitUntilSleeping(child)
        kill(child.process.processIdentifier, SIGTERM)
        #expect(await awaitExit(child.process) == 1, "stderr: \(child.stderr)")
        #expect(child.stderr.contains("calls.cancelled=1"))
    }

    /// Waits (bounded) until `probe.sleep` has started.
    private func waitUntilSleeping(_ child: MCPChild) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let read = try await child.call("tools/call", ["name": "probe.sleep_read", "arguments": [:]])
            if read["result"]?["structuredContent"]?["started"] == 1 { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw ServerFixtureError("probe.sleep never started")
    }
}
