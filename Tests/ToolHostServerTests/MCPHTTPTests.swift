import Foundation
import FoundationNetworking
import Logging
import MCP
import Synchronization
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

@testable import ToolHostServer

/// MCP Streamable HTTP at `/mcp`: the official SDK client and raw HTTP against the real `toolhost serve`, and
/// `notifications/tools/list_changed` with the server in this process (driven by `ToolHost.reload()`).
@Suite struct MCPHTTPTests {
    typealias Server = RESTTests.Server

    struct Reply {
        let status: Int
        let headers: HTTPURLResponse
        let body: Data
        var json: JSONValue? { try? JSONValue.parse(Array(body)) }
        func header(_ name: String) -> String? { headers.value(forHTTPHeaderField: name) }
    }

    static let bothForms = "application/json, text/event-stream"

    static func request(
        port: Int, _ body: JSONValue? = nil, method: String = "POST", raw: String? = nil,
        session: String? = nil, accept: String? = bothForms, headers: [String: String] = [:]
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/mcp")!)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.serialized()) }
        if let raw { request.httpBody = Data(raw.utf8) }
        if request.httpBody != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        if let session { request.setValue(session, forHTTPHeaderField: "Mcp-Session-Id") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return Reply(status: http.statusCode, headers: http, body: data)
    }

    static func initializeMessage(_ version: String = "2025-06-18", id: Int64 = 1) -> JSONValue {
        [
            "jsonrpc": "2.0", "id": .int(id), "method": "initialize",
            "params": [
                "protocolVersion": .string(version), "capabilities": [:],
                "clientInfo": ["name": "tests", "version": "1"],
            ],
        ]
    }

    static func call(_ id: Int64, _ method: String, _ params: JSONValue = [:]) -> JSONValue {
        ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
    }

    /// Initializes a session and sends `notifications/initialized`; returns the session id.
    static func startSession(port: Int, version: String = "2025-06-18") async throws -> String {
        let reply = try await request(port: port, initializeMessage(version))
        #expect(reply.status == 200)
        let id = try #require(reply.header("Mcp-Session-Id"))
        let initialized = try await request(
            port: port, ["jsonrpc": "2.0", "method": "notifications/initialized"], session: id)
        #expect(initialized.status == 202)
        return id
    }

    // MARK: the SDK client

    @Test(arguments: ["2025-06-18", "2025-03-26"])
    func sdkClientListsAndCallsTools(version: String) async throws {
        let server = try await Server()
        do {
            // On Linux the SDK's HTTPClientTransport reads whole responses (URLSession.data) and never opens the
            // GET stream, so it needs JSON answers, which the server gives whenever JSON is acceptable. Its
            // default MCP-Protocol-Version header is its own latest (2025-11-25), which it never updates after
            // negotiation: the test sets the version this server speaks.
            let transport = HTTPClientTransport(
                endpoint: URL(string: "http://127.0.0.1:\(server.port)/mcp")!, streaming: false,
                protocolVersion: version)
            let client = Client(name: "toolhost-tests", version: "1.0")
            let initialized = try await client.connect(transport: transport)
            #expect(initialized.serverInfo.name == "toolhost")
            #expect(initialized.capabilities.tools?.listChanged == true)

            let (tools, _) = try await client.listTools()
            #expect(Set(tools.map(\.name)) == Set(try ServerFixtures.probeToolNames().map { "probe." + $0 }))
            #expect(tools.first { $0.name == "probe.echo" }?.annotations.idempotentHint == true)

            let called = try await client.callTool(name: "probe.echo", arguments: ["word": "hi"])
            #expect(called.isError != true)
            guard case .text(let text, _, _) = called.content.first else {
                Issue.record("expected text content, got \(called.content)")
                throw ServerFixtureError("no text")
            }
            #expect(try JSONValue.parse(text) == ["word": "hi"])

            let failed = try await client.callTool(name: "probe.fail", arguments: [:])
            #expect(failed.isError == true)
            await client.disconnect()
        } catch {
            Issue.record("\(error); server stderr: \(server.stderr)")
        }
        #expect(await server.stop() == 0)
    }

    // MARK: sessions and headers

    @Test func sessionsAreRequiredAndEndWithDelete() async throws {
        let server = try await Server()
        do {
            let port = server.port
            let first = try await Self.request(port: port, Self.initializeMessage())
            #expect(first.status == 200)
            #expect(first.header("Content-Type") == "application/json")
            #expect(first.json?["result"]?["capabilities"]?["tools"]?["listChanged"] == true)
            let session = try #require(first.header("Mcp-Session-Id"))
            #expect(session.count == 32 && session.allSatisfy { $0.isHexDigit })
            let second = try await Self.request(port: port, Self.initializeMessage())
            #expect(second.header("Mcp-Session-Id") != session)

            // No session: 400. Unknown: 404. Known: 200.
            let missing = try await Self.request(port: port, Self.call(2, "tools/list"))
            #expect(missing.status == 400)
            #expect(missing.json?["error"]?["code"] != nil)
            let unknown = try await Self.request(port: port, Self.call(2, "tools/list"), session: "0123abcd")
            #expect(unknown.status == 404)
            let listed = try await Self.request(port: port, Self.call(2, "tools/list"), session: session)
            #expect(listed.status == 200)
            #expect(listed.header("Mcp-Session-Id") == session)
            #expect(listed.json?["result"]?["tools"]?.arrayValue?.isEmpty == false)

            // Notifications and responses: 202 with no body.
            let notified = try await Self.request(
                port: port, ["jsonrpc": "2.0", "method": "notifications/initialized"], session: session)
            #expect(notified.status == 202)
            #expect(notified.body.isEmpty)
            let response = try await Self.request(
                port: port, ["jsonrpc": "2.0", "id": 9, "result": [:]], session: session)
            #expect(response.status == 202)

            // DELETE ends it; the id is then unknown.
            let deleted = try await Self.request(port: port, method: "DELETE", session: session)
            #expect(deleted.status == 204)
            let after = try await Self.request(port: port, Self.call(3, "ping"), session: session)
            #expect(after.status == 404)
            let again = try await Self.request(port: port, method: "DELETE", session: session)
            #expect(again.status == 404)
            let noID = try await Self.request(port: port, method: "DELETE")
            #expect(noID.status == 400)
        } catch {
            Issue.record("\(error); server stderr: \(server.stderr)")
        }
        #expect(await server.stop() == 0)
    }

    @Test func badHeadersAndBodiesAreRefused() async throws {
        let server = try await Server()
        do {
            let port = server.port
            let session = try await Self.startSession(port: port)
            let badVersion = try await Self.request(
                port: port, Self.call(2, "ping"), session: session, headers: ["MCP-Protocol-Version": "1999-01-01"])
            #expect(badVersion.status == 400)
            #expect(badVersion.json?["error"]?["message"]?.stringValue?.contains("1999-01-01") == true)
            let goodVersion = try await Self.request(
                port: port, Self.call(2, "ping"), session: session, headers: ["MCP-Protocol-Version": "2025-06-18"])
            #expect(goodVersion.status == 200)

            // A browser page on another origin (DNS rebinding) is refused; a loopback page is not.
            let foreign = try await Self.request(
                port: port, Self.call(3, "ping"), session: session, headers: ["Origin": "http://evil.example"])
            #expect(foreign.status == 403)
            let foreignInit = try await Self.request(
                port: port, Self.initializeMessage(), headers: ["Origin": "https://localhost.evil.example:8443"])
            #expect(foreignInit.status == 403)
            #expect(foreignInit.header("Mcp-Session-Id") == nil)
            for origin in ["http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]"] {
                let local = try await Self.request(
                    port: port, Self.call(4, "ping"), session: session, headers: ["Origin": origin])
                #expect(local.status == 200, "\(origin)")
            }

            let notJSON = try await Self.request(port: port, raw: "{nope", session: session)
            #expect(notJSON.status == 400)
            #expect(notJSON.json?["error"]?["code"] == -32700)
            let plainText = try await Self.request(
                port: port, Self.call(5, "ping"), session: session, headers: ["Content-Type": "text/plain"])
            #expect(plainText.status == 415)
            let unacceptable = try await Self.request(
                port: port, Self.call(5, "ping"), session: session, accept: "image/png")
            #expect(unacceptable.status == 406)

            // Batches belong to 2025-03-26 only.
            let batch: JSONValue = [
                Self.call(6, "ping"), Self.call(7, "tools/call", ["name": "probe.echo", "arguments": ["a": 1]]),
            ]
            let refusedBatch = try await Self.request(port: port, batch, session: session)
            #expect(refusedBatch.status == 400)
            let oldSession = try await Self.startSession(port: port, version: "2025-03-26")
            let answered = try await Self.request(port: port, batch, session: oldSession)
            #expect(answered.status == 200)
            let responses = try #require(answered.json?.arrayValue)
            #expect(Set(responses.compactMap { $0["id"]?.intValue }) == [6, 7])
            #expect(responses.first { $0["id"] == 7 }?["result"]?["structuredContent"] == ["a": 1])
            let notifications: JSONValue = [["jsonrpc": "2.0", "method": "notifications/initialized"]]
            #expect(try await Self.request(port: port, notifications, session: oldSession).status == 202)
        } catch {
            Issue.record("\(error); server stderr: \(server.stderr)")
        }
        #expect(await server.stop() == 0)
    }

    @Test func aClientThatAcceptsOnlySSEGetsAnEventStream() async throws {
        let server = try await Server()
        do {
            let port = server.port
            let initialized = try await Self.request(port: port, Self.initializeMessage(), accept: "text/event-stream")
            #expect(initialized.status == 200)
            #expect(initialized.header("Content-Type") == "text/event-stream")
            let session = try #require(initialized.header("Mcp-Session-Id"))
            let text = String(decoding: initialized.body, as: UTF8.self)
            #expect(text.hasPrefix("event: message\ndata: {"))
            let call = try await Self.request(
                port: port, Self.call(2, "tools/call", ["name": "probe.echo", "arguments": ["x": 2]]), session: session,
                accept: "text/event-stream")
            #expect(call.header("Content-Type") == "text/event-stream")
            let events = String(decoding: call.body, as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("data: ") }
                .compactMap { try? JSONValue.parse(String($0.dropFirst(6))) }
            #expect(events.count == 1)
            #expect(events.first?["id"] == 2)
            #expect(events.first?["result"]?["structuredContent"] == ["x": 2])
            // Ranked higher by q-values, SSE wins too.
            let ranked = try await Self.request(
                port: port, Self.call(3, "ping"), session: session,
                accept: "application/json;q=0.5, text/event-stream")
            #expect(ranked.header("Content-Type") == "text/event-stream")
        } catch {
            Issue.record("\(error); server stderr: \(server.stderr)")
        }
        #expect(await server.stop() == 0)
    }

    @Test func cancelledNotificationCancelsTheCall() async throws {
        let server = try await Server()
        do {
            let port = server.port
            let session = try await Self.startSession(port: port)
            let slow = Task {
                try await Self.request(
                    port: port, Self.call(50, "tools/call", ["name": "probe.sleep", "arguments": ["ms": 20000]]),
                    session: session)
            }
            func sleepState() async throws -> JSONValue? {
                let reply = try await Self.request(
                    port: port, Self.call(51, "tools/call", ["name": "probe.sleep_read", "arguments": [:]]),
                    session: session)
                return reply.json?["result"]?["structuredContent"]
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while try await sleepState()?["started"] != 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            let cancel = try await Self.request(
                port: port,
                [
                    "jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": ["requestId": 50, "reason": "test"],
                ],
                session: session)
            #expect(cancel.status == 202)
            let answer = try await slow.value
            #expect(answer.json?["error"]?["code"] == -32800, "\(String(decoding: answer.body, as: UTF8.self))")
            #expect(try await sleepState()?["cancelled"] == 1)
        } catch {
            Issue.record("\(error); server stderr: \(server.stderr)")
        }
        #expect(await server.stop() == 0)
    }

    @Test func sigtermEndsOpenStreamsAndExits() async throws {
        let server = try await Server(["--grace-seconds", "600"])
        var stream: SSEConnection?
        do {
            let session = try await Self.startSession(port: server.port)
            let opened = try SSEConnection(
                port: server.port, method: "GET", path: "/mcp",
                headers: ["Accept": "text/event-stream", "Mcp-Session-Id": session])
            stream = opened
            try await opened.wait(for: "the stream to open") { $0.text.contains(": stream open") }
            #expect(opened.status == 200)
            #expect(opened.header("Content-Type") == "text/event-stream")
        } catch {
            Issue.record("\(error); server stderr: \(server.stderr)")
        }
        // The grace is 10 minutes: a stream that held the drain would keep the daemon past stop's bound (a SIGKILL,
        // not exit 0).
        #expect(await server.stop() == 0)
        if let stream { try await stream.wait(for: "the stream to end") { $0.ended } }
    }

    @Test func aPluginDeployedWhileServingIsAnnouncedOnTheGETStream() async throws {
        let plugins = ServerFixtures.temporaryDirectory("toolhost-http-hot")
        let server = try await Server(plugins: plugins)
        do {
            let session = try await Self.startSession(port: server.port)
            let stream = try SSEConnection(
                port: server.port, method: "GET", path: "/mcp",
                headers: ["Accept": "text/event-stream", "Mcp-Session-Id": session])
            try await stream.wait(for: "the stream to open") { $0.text.contains(": stream open") }
            #expect(try await server.request("POST", "/v1/tools/probe.echo/call", body: "{}").status == 404)
            // The documented deploy: the library first, then the manifest renamed into place.
            let probe = try ServerFixtures.probePlugins() + "/probe"
            let directory = plugins + "/probe"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: probe + "/libprobe.so", toPath: directory + "/libprobe.so")
            try FileManager.default.copyItem(atPath: probe + "/manifest.json", toPath: directory + "/.manifest.json")
            #expect(rename(directory + "/.manifest.json", directory + "/manifest.json") == 0)
            try await stream.wait(for: "list_changed") { connection in
                connection.events.contains { $0["method"]?.stringValue == "notifications/tools/list_changed" }
            }
            let called = try await Self.request(
                port: server.port, Self.call(2, "tools/call", ["name": "probe.echo", "arguments": ["b": 2]]),
                session: session)
            #expect(called.json?["result"]?["structuredContent"] == ["b": 2])
            // And over REST, the same pipeline.
            let rest = try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"hot":1}"#)
            #expect(rest.status == 200)
            #expect(rest.body == ["hot": 1])
            stream.cancel()
        } catch {
            Issue.record("\(error); server stderr: \(server.stderr)")
        }
        #expect(await server.stop() == 0)
    }

    // MARK: negotiation

    @Test(arguments: [
        ("application/json, text/event-stream", "json"),
        ("text/event-stream, application/json", "json"),
        ("text/event-stream", "sse"),
        ("TEXT/Event-Stream", "sse"),
        ("application/json;q=0.5, text/event-stream", "sse"),
        ("application/json; q=0.9, text/event-stream;q=0.8", "json"),
        ("application/*, text/event-stream", "json"),
        ("*/*", "json"),
        ("text/*;q=0.3, */*;q=0.1", "sse"),
        ("application/json;q=0, text/event-stream", "sse"),
        ("image/png", "none"),
        ("application/jsonx, text/event-streamy", "none"),
        ("", "none"),
    ])
    func acceptPicksTheResponseForm(accept: String, expected: String) {
        let form = MCPHTTPTransport.responseForm(accept: [accept])
        let name =
            switch form {
            case .json: "json"
            case .eventStream: "sse"
            case nil: "none"
            }
        #expect(name == expected)
    }

    @Test func jsonContentTypes() {
        #expect(BrowserGuardMiddleware.isJSONMediaType("application/json"))
        #expect(BrowserGuardMiddleware.isJSONMediaType("Application/JSON; charset=utf-8"))
        #expect(!BrowserGuardMiddleware.isJSONMediaType("application/jsonp"))
        #expect(!BrowserGuardMiddleware.isJSONMediaType("text/plain"))
    }

    @Test(arguments: [
        ("http://localhost", true), ("http://localhost:3000", true), ("https://app.localhost", true),
        ("http://127.0.0.1:8080", true), ("http://127.1.2.3", true), ("http://[::1]:80", true),
        ("null", false), ("http://evil.example", false), ("http://localhost.evil.example", false),
        ("http://127.0.0.1.evil.example", false), ("http://128.0.0.1", false), ("file://", false),
    ])
    func loopbackOrigins(origin: String, loopback: Bool) {
        #expect(BrowserGuardMiddleware.isLoopbackOrigin(origin) == loopback)
    }

    // MARK: list_changed, in process

    /// A host over an empty plugins directory, and the probe plugin's files to copy in.
    static func emptyHost() throws -> (host: ToolHost, plugins: String, probe: String) {
        let plugins = ServerFixtures.temporaryDirectory("toolhost-listchanged")
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: ServerFixtures.temporaryDirectory("toolhost-store"))
        configuration.cache.enabled = false
        return (ToolHost(configuration: configuration), plugins, try ServerFixtures.probePlugins() + "/probe")
    }

    /// Runs a `RESTServer` over `host` in this process (requiring one of `tokens`, when given); returns its port and
    /// the task to cancel.
    static func serveInProcess(
        _ host: ToolHost, mcp: MCPHTTPTransport.Configuration = .init(), tokens: AccessTokens? = nil
    ) async throws -> (port: Int, task: Task<Void, any Error>) {
        var configuration = RESTServer.Configuration()
        configuration.port = 0
        configuration.mcp = mcp
        configuration.tokens = tokens
        let server = RESTServer(host: host, configuration: configuration, logger: Logger(label: "test"))
        let port = Mutex<Int?>(nil)
        let failure = Mutex<String?>(nil)
        let running = Task {
            do {
                try await server.run { bound in port.withLock { $0 = bound } }
            } catch {
                failure.withLock { $0 = "\(error)" }
                throw error
            }
        }
        // A bound only so a broken server cannot hang the suite: on a loaded machine starting takes seconds.
        let deadline = ContinuousClock.now + .seconds(120)
        while port.withLock({ $0 }) == nil, failure.withLock({ $0 }) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        guard let bound = port.withLock({ $0 }) else {
            running.cancel()
            let why = failure.withLock { $0 }.map { ": \($0)" } ?? " within 120 s"
            throw ServerFixtureError("the in-process server did not start\(why)")
        }
        return (bound, running)
    }

    @Test func theSessionCapEvictsTheLeastRecentlyUsed() async throws {
        let (host, _, _) = try Self.emptyHost()
        defer { host.shutdown() }
        var mcp = MCPHTTPTransport.Configuration()
        mcp.maxSessions = 2
        let (port, running) = try await Self.serveInProcess(host, mcp: mcp)
        defer { running.cancel() }
        let first = try await Self.startSession(port: port)
        let second = try await Self.startSession(port: port)
        #expect(try await Self.request(port: port, Self.call(2, "ping"), session: second).status == 200)
        // A third session evicts the least recently used one (the first).
        let third = try await Self.startSession(port: port)
        #expect(try await Self.request(port: port, Self.call(3, "ping"), session: first).status == 404)
        #expect(try await Self.request(port: port, Self.call(4, "ping"), session: second).status == 200)
        #expect(try await Self.request(port: port, Self.call(5, "ping"), session: third).status == 200)
        running.cancel()
        _ = try? await running.value
    }

    /// A flood of `initialize` cannot evict a session whose call is in flight: with every session busy, a new one
    /// is refused (503) and the busy session's call goes on.
    @Test func aSessionWithACallInFlightIsNeverEvicted() async throws {
        let (host, plugins, probe) = try Self.emptyHost()
        defer { host.shutdown() }
        try FileManager.default.copyItem(atPath: probe, toPath: plugins + "/probe")
        host.reload()
        var mcp = MCPHTTPTransport.Configuration()
        mcp.maxSessions = 1
        let (port, running) = try await Self.serveInProcess(host, mcp: mcp)
        defer { running.cancel() }
        let busy = try await Self.startSession(port: port)
        // The call holds until the gate opens, after the refusal, however slow the machine.
        let gate = Gate()
        defer { gate.open() }
        let slow = Task {
            try await Self.request(
                port: port, Self.call(2, "tools/call", ["name": "probe.sleep", "arguments": ["gate": gate.argument]]),
                session: busy)
        }
        try await Fixtures.waitUntil("the call runs") { host.load.running == 1 }
        let refused = try await Self.request(port: port, Self.initializeMessage())
        #expect(refused.status == 503)
        #expect(refused.header("Mcp-Session-Id") == nil)
        gate.open()
        let answer = try await slow.value
        #expect(
            answer.json?["result"]?["structuredContent"]?["cancelled"] == false, "the busy session's call went on")
        // Once it is idle, a new session may take its place.
        #expect(try await Self.request(port: port, Self.initializeMessage()).status == 200)
        running.cancel()
        _ = try? await running.value
    }

    @Test func anIdleSessionExpiresOneWithAnOpenStreamDoesNot() async throws {
        let (host, _, _) = try Self.emptyHost()
        defer { host.shutdown() }
        // The sessions' clock is moved on by the test: idleness without waiting for it, on any machine.
        let skew = Mutex(Duration.zero)
        var mcp = MCPHTTPTransport.Configuration()
        mcp.idleTimeout = .seconds(60)
        mcp.now = { ContinuousClock.now + skew.withLock { $0 } }
        let (port, running) = try await Self.serveInProcess(host, mcp: mcp)
        defer { running.cancel() }
        let idle = try #require(try await Self.request(port: port, Self.initializeMessage()).header("Mcp-Session-Id"))
        let watched = try #require(
            try await Self.request(port: port, Self.initializeMessage()).header("Mcp-Session-Id"))
        let stream = try SSEConnection(
            port: port, method: "GET", path: "/mcp",
            headers: ["Accept": "text/event-stream", "Mcp-Session-Id": watched])
        try await stream.wait(for: "the stream to open") { $0.text.contains(": stream open") }
        skew.withLock { $0 = .seconds(3600) }
        #expect(try await Self.request(port: port, Self.call(6, "ping"), session: idle).status == 404)
        #expect(try await Self.request(port: port, Self.call(7, "ping"), session: watched).status == 200)
        stream.cancel()
        running.cancel()
        _ = try? await running.value
    }

    @Test func listChangedReachesTheOpenGETStream() async throws {
        let (host, plugins, probe) = try Self.emptyHost()
        defer { host.shutdown() }
        let (bound, running) = try await Self.serveInProcess(host)
        defer { running.cancel() }

        let session = try await Self.startSession(port: bound)
        let otherSession = try await Self.startSession(port: bound)
        let empty = try await Self.request(port: bound, Self.call(2, "tools/list"), session: session)
        #expect(empty.json?["result"]?["tools"] == [])
        let stream = try SSEConnection(
            port: bound, method: "GET", path: "/mcp",
            headers: ["Accept": "text/event-stream", "Mcp-Session-Id": session])
        try await stream.wait(for: "the stream to open") { $0.text.contains(": stream open") }

        try FileManager.default.copyItem(atPath: probe, toPath: plugins + "/probe")
        #expect(host.reload())
        try await stream.wait(for: "list_changed") { connection in
            connection.events.contains { $0["method"]?.stringValue == "notifications/tools/list_changed" }
        }
        let listed = try await Self.request(port: bound, Self.call(3, "tools/list"), session: session)
        #expect(listed.json?["result"]?["tools"]?.arrayValue?.isEmpty == false)

        // Ending the session ends its stream, and a reload no longer reaches it.
        #expect(try await Self.request(port: bound, method: "DELETE", session: session).status == 204)
        try await stream.wait(for: "the stream to end") { $0.ended }
        #expect(try await Self.request(port: bound, method: "DELETE", session: otherSession).status == 204)
        running.cancel()
        _ = try? await running.value
    }

    /// A client that stops reading fills the output pipe: the stdio server's writer thread blocks, never the
    /// cooperative pool (2 threads here), so other work in the process goes on.
    @Test(.timeLimit(.minutes(1))) func aStdioClientThatStopsReadingDoesNotBlockThePool() async throws {
        let (host, plugins, probe) = try Self.emptyHost()
        defer { host.shutdown() }
        try FileManager.default.copyItem(atPath: probe, toPath: plugins + "/probe")
        host.reload()
        var toServer: [Int32] = [0, 0]
        var fromServer: [Int32] = [0, 0]
        #expect(pipe(&toServer) == 0 && pipe(&fromServer) == 0)
        let server = MCPStdioServer(host: host, input: toServer[0], output: fromServer[1])
        let running = Task { try await server.run() }
        // 2000 answers of ~1 KB each: far more than a pipe holds (64 KiB), and nobody reads them yet.
        let padding = JSONValue.string(String(repeating: "x", count: 1000))
        var requests: [UInt8] = Self.initializeMessage().serialized() + [0x0A]
        for id in 1...2000 {
            requests +=
                Self.call(Int64(id), "tools/call", ["name": "probe.echo", "arguments": ["p": padding]])
                .serialized() + [0x0A]
        }
        let writer = toServer[1]
        let input = Data(requests)
        let written = Atomic<Bool>(false)
        Thread.detachNewThread {
            let handle = FileHandle(fileDescriptor: writer, closeOnDealloc: false)
            try? handle.write(contentsOf: input)
            written.store(true, ordering: .releasing)
        }
        while !written.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(200))
        // With the pipe full, calls and sleeps in this process still complete on the pool.
        for _ in 0..<20 {
            let result = await host.call(ToolCall(tool: "probe.echo", arguments: ["alive": true]))
            #expect((try? result.get().json) == ["alive": true])
            try await Task.sleep(for: .milliseconds(1))
        }
        // Now read everything: every request was answered, in whole lines.
        let reader = fromServer[0]
        let answered = Mutex(0)
        Thread.detachNewThread {
            let handle = FileHandle(fileDescriptor: reader, closeOnDealloc: true)
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                answered.withLock { $0 += chunk.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } }
            }
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while answered.withLock({ $0 }) < 2001, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(answered.withLock { $0 } == 2001, "initialize and 2000 calls")
        close(writer)
        try await running.value
    }

    @Test func listChangedReachesTheStdioClient() async throws {
        let (host, plugins, probe) = try Self.emptyHost()
        defer { host.shutdown() }
        var toServer: [Int32] = [0, 0]
        var fromServer: [Int32] = [0, 0]
        #expect(pipe(&toServer) == 0 && pipe(&fromServer) == 0)
        let server = MCPStdioServer(host: host, input: toServer[0], output: fromServer[1])
        let running = Task { try await server.run() }
        let lines = Mutex<[JSONValue]>([])
        let reader = fromServer[0]
        Thread.detachNewThread {
            let handle = FileHandle(fileDescriptor: reader, closeOnDealloc: true)
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    if let value = try? JSONValue.parse(Array(pending[pending.startIndex..<newline])) {
                        lines.withLock { $0.append(value) }
                    }
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
        }
        let input = FileHandle(fileDescriptor: toServer[1], closeOnDealloc: true)
        func waitFor(_ what: String, _ condition: @escaping (JSONValue) -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while !lines.withLock({ $0.contains(where: condition) }) {
                guard ContinuousClock.now < deadline else { throw ServerFixtureError("no \(what)") }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        try input.write(contentsOf: Data(Self.initializeMessage().serialized() + [0x0A]))
        try await waitFor("initialize response") { $0["id"] == 1 }
        let capabilities = lines.withLock { $0.first { $0["id"] == 1 }?["result"]?["capabilities"] }
        #expect(capabilities?["tools"]?["listChanged"] == true)

        try FileManager.default.copyItem(atPath: probe, toPath: plugins + "/probe")
        #expect(host.reload())
        try await waitFor("list_changed") { $0["method"]?.stringValue == "notifications/tools/list_changed" }
        // A reload that changes nothing says nothing.
        #expect(!host.reload())
        try input.write(contentsOf: Data(Self.call(2, "tools/list").serialized() + [0x0A]))
        try await waitFor("tools/list response") { $0["id"] == 2 }
        #expect(lines.withLock { $0.filter { $0["method"] != nil }.count } == 1)
        #expect(lines.withLock { $0.first { $0["id"] == 2 }?["result"]?["tools"]?.arrayValue?.isEmpty } == false)
        try input.close()
        try await running.value
    }
}
