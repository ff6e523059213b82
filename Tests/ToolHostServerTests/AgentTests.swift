import Foundation
import FoundationNetworking
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

@testable import ToolHostServer

/// Who calls (issue 12, item 1): named tokens with their tools, `X-Toolhost-Agent`, MCP `clientInfo`, the CLI's
/// `--agent`, and the bounded per-agent statistics behind `GET /v1/agents` and the metrics.
@Suite struct AgentTests {
    typealias Server = RESTTests.Server

    static let plannerSecret = "planner-secret-0123456789"
    static let fleetSecret = "fleet-secret-0123456789ab"
    static let echoOnlySecret = "echo-only-secret-01234567"

    /// A daemon whose token file names three agents: `planner` (every tool), `fleet` (may refine its name with
    /// `X-Toolhost-Agent`), `echoer` (only `probe.echo`).
    static func namedTokenServer() async throws -> Server {
        let file = ServerFixtures.temporaryDirectory("toolhost-tokens") + "/tokens.json"
        let tokens: JSONValue = [
            "tokens": [
                ["token": .string(plannerSecret), "agent": "planner"],
                ["token": .string(fleetSecret), "agent": "fleet", "agentHeader": true],
                ["token": .string(echoOnlySecret), "agent": "echoer", "tools": ["probe.ech*"]],
            ]
        ]
        try Data(tokens.serialized()).write(to: URL(fileURLWithPath: file))
        return try await Server(["--token-file", file])
    }

    static func bearer(_ secret: String, _ more: [String: String] = [:]) -> [String: String] {
        more.merging(["Authorization": "Bearer " + secret]) { $1 }
    }

    /// The agents the daemon reports, by name.
    static func agents(_ server: Server, as secret: String) async throws -> [String: JSONValue] {
        let answer = try await server.request("GET", "/v1/agents", headers: bearer(secret))
        #expect(answer.status == 200)
        var byName: [String: JSONValue] = [:]
        for agent in answer.body?["agents"]?.arrayValue ?? [] {
            if let name = agent["agent"]?.stringValue { byName[name] = agent }
        }
        return byName
    }

    @Test func namedTokensNameTheAgentAndLimitItsTools() async throws {
        let server = try await Self.namedTokenServer()
        do {
            // Each token's calls count under its agent.
            let planned = try await server.request(
                "POST", "/v1/tools/probe.echo/call", body: #"{"p":1}"#, headers: Self.bearer(Self.plannerSecret))
            #expect(planned.status == 200)
            let echoed = try await server.request(
                "POST", "/v1/tools/probe.echo/call", body: #"{"e":1}"#, headers: Self.bearer(Self.echoOnlySecret))
            #expect(echoed.status == 200)

            // A tool outside the token's patterns: 403, naming the patterns.
            let refused = try await server.request(
                "POST", "/v1/tools/probe.sleep_read/call", body: "{}", headers: Self.bearer(Self.echoOnlySecret))
            #expect(refused.status == 403)
            #expect(refused.body?["error"]?["code"] == "forbidden")
            let message = refused.body?["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("probe.ech*") && message.contains("echoer"), "\(message)")

            // It sees only the tools it may call.
            let listed = try await server.request("GET", "/v1/tools", headers: Self.bearer(Self.echoOnlySecret))
            #expect(listed.body?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["probe.echo"])
            let all = try await server.request("GET", "/v1/tools", headers: Self.bearer(Self.plannerSecret))
            #expect((all.body?["tools"]?.arrayValue?.count ?? 0) > 1)

            // In a batch, the refused call is answered in its place and the others run.
            let batch = try await server.request(
                "POST", "/v1/batch",
                body: #"[{"tool":"probe.echo","arguments":{"b":1}},{"tool":"probe.fail","arguments":{}}]"#,
                headers: Self.bearer(Self.echoOnlySecret))
            #expect(batch.status == 200)
            #expect(batch.body?["results"]?[0]?["result"] == ["b": 1], "\(String(describing: batch.body))")
            #expect(batch.body?["results"]?[1]?["error"]?["code"] == "forbidden")

            let agents = try await Self.agents(server, as: Self.plannerSecret)
            #expect(agents["planner"]?["calls"] == 1)
            #expect(agents["planner"]?["tools"] == [["tool": "probe.echo", "calls": 1]])
            #expect(agents["echoer"]?["calls"] == 2, "the echo and the batch's echo; refusals never ran")

            // The agent is a label of the per-agent counter.
            let metrics = try await server.text("/metrics", headers: Self.bearer(Self.plannerSecret))
            #expect(metrics.contains(#"toolhost_agent_calls_total{agent="planner",outcome="success"} 1"#), "\(metrics)")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test func theAgentHeaderRefinesANamedTokenOnlyWhereItIsAllowed() async throws {
        let server = try await Self.namedTokenServer()
        do {
            let refined = try await server.request(
                "POST", "/v1/tools/probe.echo/call", body: #"{"w":3}"#,
                headers: Self.bearer(Self.fleetSecret, ["X-Toolhost-Agent": "worker-3"]))
            #expect(refined.status == 200)
            // planner's token does not allow the header: refused, saying how to allow it.
            let impersonating = try await server.request(
                "POST", "/v1/tools/probe.echo/call", body: #"{"w":4}"#,
                headers: Self.bearer(Self.plannerSecret, ["X-Toolhost-Agent": "fleet"]))
            #expect(impersonating.status == 403)
            #expect(
                impersonating.body?["error"]?["message"]?.stringValue?.contains("\"agentHeader\": true") == true,
                "\(String(describing: impersonating.body))")
            // A name that is not one: 400.
            let malformed = try await server.request(
                "POST", "/v1/tools/probe.echo/call", body: #"{"w":5}"#,
                headers: Self.bearer(Self.fleetSecret, ["X-Toolhost-Agent": "two words"]))
            #expect(malformed.status == 400)
            let agents = try await Self.agents(server, as: Self.fleetSecret)
            #expect(agents["fleet/worker-3"]?["calls"] == 1)
            #expect(agents["planner"] == nil && agents["fleet"] == nil, "\(agents.keys.sorted())")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    /// Over MCP HTTP the session's agent is the named token's; the session answers only that token.
    @Test func anMCPSessionBelongsToTheTokenThatOpenedIt() async throws {
        let server = try await Self.namedTokenServer()
        do {
            let planner = Self.bearer(Self.plannerSecret)
            let opened = try await MCPHTTPTests.request(
                port: server.port, MCPHTTPTests.initializeMessage(), headers: planner)
            #expect(opened.status == 200)
            let session = try #require(opened.header("Mcp-Session-Id"))
            let called = try await MCPHTTPTests.request(
                port: server.port,
                MCPHTTPTests.call(2, "tools/call", ["name": "probe.echo", "arguments": ["m": 1]]),
                session: session, headers: planner)
            #expect(called.json?["result"]?["structuredContent"] == ["m": 1])
            // Another token does not reach it.
            let stolen = try await MCPHTTPTests.request(
                port: server.port, MCPHTTPTests.call(3, "ping"), session: session,
                headers: Self.bearer(Self.echoOnlySecret))
            #expect(stolen.status == 404)
            // A restricted token's session lists and calls only its tools.
            let echoer = Self.bearer(Self.echoOnlySecret)
            let restricted = try #require(
                try await MCPHTTPTests.request(
                    port: server.port, MCPHTTPTests.initializeMessage(), headers: echoer
                ).header("Mcp-Session-Id"))
            let listed = try await MCPHTTPTests.request(
                port: server.port, MCPHTTPTests.call(4, "tools/list"), session: restricted, headers: echoer)
            #expect(
                listed.json?["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["probe.echo"])
            let forbidden = try await MCPHTTPTests.request(
                port: server.port, MCPHTTPTests.call(5, "tools/call", ["name": "probe.fail", "arguments": [:]]),
                session: restricted, headers: echoer)
            #expect(forbidden.json?["result"]?["isError"] == true)
            #expect(
                forbidden.json?["result"]?["content"]?[0]?["text"]?.stringValue?.hasPrefix("forbidden:") == true,
                "\(String(describing: forbidden.json))")
            let agents = try await Self.agents(server, as: Self.plannerSecret)
            #expect(agents["planner"]?["calls"] == 1, "the token's agent, not clientInfo's 'tests'")
            #expect(agents["tests"] == nil)
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    /// Without named tokens, `X-Toolhost-Agent` names a REST caller and `clientInfo` an MCP session.
    @Test func withoutNamedTokensTheHeaderAndClientInfoNameTheAgent() async throws {
        let server = try await Server()
        do {
            _ = try await server.request(
                "POST", "/v1/tools/probe.echo/call", body: #"{"h":1}"#, headers: ["X-Toolhost-Agent": "scripted"])
            _ = try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"h":2}"#)
            let session = try await MCPHTTPTests.startSession(port: server.port)
            _ = try await MCPHTTPTests.request(
                port: server.port,
                MCPHTTPTests.call(2, "tools/call", ["name": "probe.echo", "arguments": ["h": 3]]), session: session)
            let answer = try await server.request("GET", "/v1/agents")
            let names = Set(answer.body?["agents"]?.arrayValue?.compactMap { $0["agent"]?.stringValue } ?? [])
            #expect(names == ["scripted", "anonymous", "tests"])
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test(arguments: [
        (#"{"tokens": []}"#, "non-empty array"),
        (#"{"tokens": [{"token": "short", "agent": "a"}]}"#, "tokens[0].token must be at least 16"),
        (#"{"tokens": [{"token": "0123456789abcdef0", "agent": "two words"}]}"#, "tokens[0].agent must name"),
        (
            #"{"tokens": [{"token": "0123456789abcdef0", "agent": "a"}, {"token": "0123456789abcdef0", "agent": "b"}]}"#,
            "tokens[1].token repeats"
        ),
        (#"{"tokens": [{"token": "0123456789abcdef0", "agent": "a", "tools": ["a b"]}]}"#, "tokens[0].tools"),
        (#"{"tokens": [{"token": "0123456789abcdef0", "agent": "a", "role": "x"}]}"#, "unknown field 'role'"),
        (#"{"tokens": "#, "not valid JSON"),
    ])
    func aBadTokenFileIsRefusedNamingTheEntry(text: String, message: String) async throws {
        let file = ServerFixtures.temporaryDirectory("toolhost-tokens") + "/tokens.json"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await DaemonTests.runToExit(["--token-file", file])
        #expect(result.status == 64)
        #expect(result.stderr.contains(message) && result.stderr.contains(file), "stderr: \(result.stderr)")
    }

    @Test func toolPatternsMatchWholeNamesWithStars() throws {
        let patterns = try ToolPatterns(["text.*", "math.add", "*.echo"])
        #expect(patterns.matches("text.upper"))
        #expect(patterns.matches("math.add"))
        #expect(patterns.matches("probe.echo"))
        #expect(!patterns.matches("textkit.upper"))
        #expect(!patterns.matches("math.addition"))
        #expect(!patterns.matches("probe.echoes"))
        #expect(try ToolPatterns(["*"]).matches("anything.at.all"))
        #expect(try ToolPatterns(["a*b*c"]).matches("axxbyyc") && !ToolPatterns(["a*b*c"]).matches("axxbyy"))
    }

    /// However many names callers send, at most `agents.maxTracked` are kept, plus `other` for the rest.
    @Test func agentNamesAreBoundedAndTheRestCountAsOther() async throws {
        let (host, _) = try await Fixtures.probeHost { $0.agents.maxTracked = 3 }
        defer { host.shutdown() }
        for index in 0..<50 {
            let result = await host.call(
                ToolCall(tool: "probe.echo", arguments: ["i": .int(Int64(index))], agent: "agent-\(index % 10)"))
            #expect((try? result.get()) != nil)
        }
        let agents = host.agents()
        #expect(agents.count == 4, "\(agents.map(\.agent))")
        #expect(agents.first { $0.agent == "other" }?.calls == 35, "7 names past the first 3, 5 calls each")
        #expect(agents.filter { $0.agent != "other" }.allSatisfy { $0.calls == 5 })
        #expect(agents.reduce(0) { $0 + $1.calls } == 50)
    }

    @Test func clientInfoNamesAreMadeValidAgentNames() {
        #expect(MCPDispatcher.agentName(clientInfo: ["name": "Claude Desktop"]) == "Claude-Desktop")
        #expect(MCPDispatcher.agentName(clientInfo: ["name": "  mcp  "]) == "mcp")
        #expect(MCPDispatcher.agentName(clientInfo: ["name": "日本"]) == nil)
        #expect(MCPDispatcher.agentName(clientInfo: ["version": "1"]) == nil)
        let long = MCPDispatcher.agentName(clientInfo: ["name": .string(String(repeating: "x", count: 100))])
        #expect(long?.count == 64)
    }
}
