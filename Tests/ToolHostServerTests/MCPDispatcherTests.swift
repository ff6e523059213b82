import Testing
import ToolHost
import ToolHostJSON
import ToolHostServer

/// The MCP dispatcher alone, without a transport: its protocol state and how it classifies messages.
@Suite struct MCPDispatcherTests {
    private static func dispatcher(initializedWith version: String? = nil) -> (MCPDispatcher, ToolHost) {
        let host = ToolHost(
            configuration: ToolHost.Configuration(
                pluginsDirectory: ServerFixtures.temporaryDirectory("toolhost-dispatcher"),
                libraryStore: ServerFixtures.temporaryDirectory("toolhost-store")))
        return (MCPDispatcher(host: host, initializedWith: version), host)
    }

    private static func request(_ id: Int64, _ method: String, _ params: JSONValue = [:]) -> JSONValue {
        ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
    }

    private static func reply(_ action: MCPDispatcher.Action) -> JSONValue? {
        if case .reply(let value) = action { return value }
        return nil
    }

    @Test func thePhasesFollowTheHandshake() {
        let (dispatcher, host) = Self.dispatcher()
        defer { host.shutdown() }
        #expect(dispatcher.currentPhase == .awaitingInitialize)
        #expect(!dispatcher.isInitialized)
        let early = Self.reply(dispatcher.handle(Self.request(1, "tools/list")))
        #expect(early?["error"]?["code"] == -32600)
        #expect(Self.reply(dispatcher.handle(Self.request(2, "ping")))?["result"] == [:], "ping is always served")

        let answer = Self.reply(dispatcher.handle(Self.request(3, "initialize", ["protocolVersion": "2025-03-26"])))
        #expect(answer?["result"]?["protocolVersion"] == "2025-03-26")
        #expect(dispatcher.currentPhase == .initialized(version: "2025-03-26"))
        #expect(dispatcher.protocolVersion == "2025-03-26")

        #expect(dispatcher.handle(["jsonrpc": "2.0", "method": "notifications/initialized"]).isNone)
        #expect(dispatcher.currentPhase == .ready(version: "2025-03-26"))

        let again = Self.reply(dispatcher.handle(Self.request(4, "initialize", ["protocolVersion": "2025-06-18"])))
        #expect(again?["error"]?["code"] == -32600)
        #expect(dispatcher.protocolVersion == "2025-03-26", "a refused initialize changes nothing")
        #expect(Self.reply(dispatcher.handle(Self.request(5, "tools/list")))?["result"]?["tools"] == [])
    }

    @Test func anUnknownVersionGetsTheNewest() {
        let (dispatcher, host) = Self.dispatcher()
        defer { host.shutdown() }
        let answer = Self.reply(dispatcher.handle(Self.request(1, "initialize", ["protocolVersion": "1999-01-01"])))
        #expect(answer?["result"]?["protocolVersion"]?.stringValue == MCPDispatcher.supportedProtocolVersions[0])
    }

    @Test func messagesAreClassified() {
        let (dispatcher, host) = Self.dispatcher(initializedWith: "2025-06-18")
        defer { host.shutdown() }
        guard
            case .call(let id, let call, nil) = dispatcher.handle(
                Self.request(7, "tools/call", ["name": "a.b", "arguments": ["x": 1]]))
        else {
            Issue.record("tools/call is a call")
            return
        }
        #expect(id == 7 && call.tool == "a.b" && call.arguments == ["x": 1])
        guard
            case .cancel(let cancelled) = dispatcher.handle(
                ["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 7]])
        else {
            Issue.record("notifications/cancelled cancels")
            return
        }
        #expect(cancelled == 7)
        #expect(dispatcher.handle(["jsonrpc": "2.0", "id": 9, "result": [:]]).isNone, "a client's response")
        #expect(Self.reply(dispatcher.handle([1]))?["error"]?["code"] == -32600)
        #expect(Self.reply(dispatcher.handle(["jsonrpc": "2.0", "id": [1], "method": "ping"]))?["id"] == .null)
        #expect(Self.reply(dispatcher.handle(Self.request(8, "prompts/list")))?["error"]?["code"] == -32601)
        #expect(
            Self.reply(dispatcher.handle(Self.request(9, "tools/call", ["name": "a.b", "arguments": [1]])))?[
                "error"]?["code"] == -32602)
    }

    @Test func anUnknownToolIsAProtocolErrorAndAFailureIsAResult() async {
        let (dispatcher, host) = Self.dispatcher(initializedWith: "2025-06-18")
        defer { host.shutdown() }
        let unknown = await dispatcher.run(ToolCall(tool: "nope.tool", arguments: [:]), id: 1)
        #expect(unknown["error"]?["code"] == -32602)
        let bad = await dispatcher.run(ToolCall(tool: "nope.tool", arguments: [:], timeout: .zero), id: 2)
        #expect(bad["result"]?["isError"] == true)
        #expect(bad["result"]?["content"]?[0]?["text"]?.stringValue?.hasPrefix("invalid_arguments:") == true)
    }
}

extension MCPDispatcher.Action {
    fileprivate var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}
