import Foundation
import Synchronization
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

@testable import ToolHostServer

/// MCP sessions over HTTP belong to the client that opened them (issue 17, item 6 and the Low item on `DELETE`):
/// each client has its own share of the session table, a flood of `initialize` turns over only the flooder's own
/// sessions, and no client can use or end another's session. Clients are named tokens here (in process, over real
/// sockets), and loopback addresses against the real daemon without a token.
@Suite struct MCPHTTPClientTests {
    typealias Server = RESTTests.Server

    static let alpha = "alpha-token-0123456789"
    static let bravo = "bravo-token-0123456789"
    static let charlie = "charlie-token-0123456789"
    static let tokens = AccessTokens([
        .init(secret: alpha, agent: "alpha"), .init(secret: bravo, agent: "bravo"),
        .init(secret: charlie, agent: "charlie"),
    ])

    static func bearer(_ secret: String) -> [String: String] { ["Authorization": "Bearer \(secret)"] }

    /// Initializes a session as the holder of `secret`; returns its id.
    static func open(port: Int, as secret: String) async throws -> String {
        let reply = try await MCPHTTPTests.request(
            port: port, MCPHTTPTests.initializeMessage(), headers: bearer(secret))
        #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
        return try #require(reply.header("Mcp-Session-Id"))
    }

    /// The status of a `ping` in `session` as the holder of `secret`.
    static func ping(port: Int, as secret: String, session: String) async throws -> Int {
        try await MCPHTTPTests.request(
            port: port, MCPHTTPTests.call(2, "ping"), session: session, headers: bearer(secret)
        ).status
    }

    /// A `probe.sleep` call in `session` that holds until `gate` opens.
    static func gatedCall(
        port: Int, as secret: String, session: String, gate: Gate
    ) -> Task<MCPHTTPTests.Reply, any Error> {
        Task {
            try await MCPHTTPTests.request(
                port: port,
                MCPHTTPTests.call(3, "tools/call", ["name": "probe.sleep", "arguments": ["gate": gate.argument]]),
                session: session, headers: bearer(secret))
        }
    }

    /// A host with the probe plugin, served in this process with the three tokens.
    static func serve(
        _ configure: (inout MCPHTTPTransport.Configuration) -> Void
    ) async throws -> (host: ToolHost, port: Int, task: Task<Void, any Error>) {
        let (host, plugins, probe) = try MCPHTTPTests.emptyHost()
        try FileManager.default.copyItem(atPath: probe, toPath: plugins + "/probe")
        host.reload()
        var mcp = MCPHTTPTransport.Configuration()
        configure(&mcp)
        let (port, task) = try await MCPHTTPTests.serveInProcess(host, mcp: mcp, tokens: tokens)
        return (host, port, task)
    }

    @Test func aFloodOfInitializeTurnsOverOnlyTheFloodersOwnSessions() async throws {
        let (host, port, running) = try await Self.serve { mcp in
            mcp.maxSessions = 8
            mcp.maxSessionsPerClient = 3
        }
        defer { host.shutdown() }
        defer { running.cancel() }
        let busy = try await Self.open(port: port, as: Self.bravo)
        let idle = try await Self.open(port: port, as: Self.bravo)
        let gate = Gate()
        defer { gate.open() }
        let slow = Self.gatedCall(port: port, as: Self.bravo, session: busy, gate: gate)
        try await Fixtures.waitUntil("bravo's call runs") { host.load.running == 1 }

        // Seven times alpha's share and more than the whole table: every one is answered, each evicting alpha's own.
        var flood: [String] = []
        for _ in 0..<21 { flood.append(try await Self.open(port: port, as: Self.alpha)) }
        for (index, session) in flood.enumerated() {
            let expected = index >= flood.count - 3 ? 200 : 404
            #expect(try await Self.ping(port: port, as: Self.alpha, session: session) == expected, "flood #\(index)")
        }

        gate.open()
        let answer = try await slow.value
        #expect(answer.status == 200)
        #expect(
            answer.json?["result"]?["structuredContent"]?["cancelled"] == false, "bravo's call in flight went on")
        #expect(try await Self.ping(port: port, as: Self.bravo, session: busy) == 200)
        #expect(try await Self.ping(port: port, as: Self.bravo, session: idle) == 200)
        running.cancel()
        _ = try? await running.value
    }

    @Test func aClientAtItsCapLosesItsOwnLeastRecentlyUsedSession() async throws {
        // The sessions' clock moves a second per step: the order of use does not rest on the clock's resolution.
        let skew = Mutex(Duration.zero)
        let (host, port, running) = try await Self.serve { mcp in
            mcp.maxSessionsPerClient = 3
            mcp.now = { ContinuousClock.now + skew.withLock { $0 } }
        }
        defer { host.shutdown() }
        defer { running.cancel() }
        func step() { skew.withLock { $0 += .seconds(1) } }
        let other = try await Self.open(port: port, as: Self.bravo)
        step()
        var mine: [String] = []
        for _ in 0..<3 {
            mine.append(try await Self.open(port: port, as: Self.alpha))
            step()
        }
        // The first is used again: the second is now the least recently used.
        #expect(try await Self.ping(port: port, as: Self.alpha, session: mine[0]) == 200)
        step()
        let fourth = try await Self.open(port: port, as: Self.alpha)
        #expect(try await Self.ping(port: port, as: Self.alpha, session: mine[1]) == 404)
        for session in [mine[0], mine[2], fourth] {
            #expect(try await Self.ping(port: port, as: Self.alpha, session: session) == 200)
        }
        #expect(try await Self.ping(port: port, as: Self.bravo, session: other) == 200, "the oldest of all stays")
        running.cancel()
        _ = try? await running.value
    }

    @Test func aFullTableLosesASessionOfTheClientHoldingTheMost() async throws {
        let skew = Mutex(Duration.zero)
        let (host, port, running) = try await Self.serve { mcp in
            mcp.maxSessions = 4
            mcp.maxSessionsPerClient = 3
            mcp.now = { ContinuousClock.now + skew.withLock { $0 } }
        }
        defer { host.shutdown() }
        defer { running.cancel() }
        func step() { skew.withLock { $0 += .seconds(1) } }
        // bravo's session is the least recently used of all; alpha holds three, so the table is full.
        let bravos = try await Self.open(port: port, as: Self.bravo)
        step()
        var alphas: [String] = []
        for _ in 0..<3 {
            alphas.append(try await Self.open(port: port, as: Self.alpha))
            step()
        }
        // A newcomer takes the place of one of alpha's (the most), not of bravo's older one.
        let charlies = try await Self.open(port: port, as: Self.charlie)
        #expect(try await Self.ping(port: port, as: Self.alpha, session: alphas[0]) == 404)
        #expect(try await Self.ping(port: port, as: Self.bravo, session: bravos) == 200)
        #expect(try await Self.ping(port: port, as: Self.charlie, session: charlies) == 200)
        for session in alphas.dropFirst() {
            #expect(try await Self.ping(port: port, as: Self.alpha, session: session) == 200)
        }
        running.cancel()
        _ = try? await running.value
    }

    @Test func aClientWhoseSessionsAreAllBusyIsRefusedAndNoOneElseIs() async throws {
        let (host, port, running) = try await Self.serve { mcp in mcp.maxSessionsPerClient = 2 }
        defer { host.shutdown() }
        defer { running.cancel() }
        let gate = Gate()
        defer { gate.open() }
        var calls: [Task<MCPHTTPTests.Reply, any Error>] = []
        for _ in 0..<2 {
            let session = try await Self.open(port: port, as: Self.alpha)
            calls.append(Self.gatedCall(port: port, as: Self.alpha, session: session, gate: gate))
        }
        try await Fixtures.waitUntil("both of alpha's calls run") { host.load.running == 2 }

        let refused = try await MCPHTTPTests.request(
            port: port, MCPHTTPTests.initializeMessage(), headers: Self.bearer(Self.alpha))
        #expect(refused.status == 429)
        #expect(refused.header("Mcp-Session-Id") == nil)
        let message = refused.json?["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("agent 'alpha' holds 2 MCP sessions (maxSessionsPerClient)"), "\(message)")
        // Another client is not held back by alpha's share.
        _ = try await Self.open(port: port, as: Self.bravo)

        gate.open()
        for call in calls {
            #expect(try await call.value.json?["result"]?["structuredContent"]?["cancelled"] == false)
        }
        // Idle again, alpha's least recently used session makes room.
        _ = try await Self.open(port: port, as: Self.alpha)
        running.cancel()
        _ = try? await running.value
    }

    @Test func anotherTokenCannotUseOrEndASession() async throws {
        let (host, port, running) = try await Self.serve { _ in }
        defer { host.shutdown() }
        defer { running.cancel() }
        let session = try await Self.open(port: port, as: Self.alpha)
        let gate = Gate()
        defer { gate.open() }
        let call = Self.gatedCall(port: port, as: Self.alpha, session: session, gate: gate)
        try await Fixtures.waitUntil("alpha's call runs") { host.load.running == 1 }

        // To bravo, alpha's session is as unknown as an id never given out.
        let unknown = try await MCPHTTPTests.request(
            port: port, method: "DELETE", session: "0123456789abcdef0123456789abcdef", headers: Self.bearer(Self.bravo))
        let deleted = try await MCPHTTPTests.request(
            port: port, method: "DELETE", session: session, headers: Self.bearer(Self.bravo))
        #expect(deleted.status == 404)
        #expect(deleted.json?["error"]?["code"] == unknown.json?["error"]?["code"])
        let posted = try await MCPHTTPTests.request(
            port: port, MCPHTTPTests.call(4, "ping"), session: session, headers: Self.bearer(Self.bravo))
        #expect(posted.status == 404)
        let streamed = try await MCPHTTPTests.request(
            port: port, method: "GET", session: session, accept: "text/event-stream",
            headers: Self.bearer(Self.bravo))
        #expect(streamed.status == 404)

        // alpha's session, and its call in flight, go on.
        gate.open()
        #expect(try await call.value.json?["result"]?["structuredContent"]?["cancelled"] == false)
        #expect(try await Self.ping(port: port, as: Self.alpha, session: session) == 200)
        let ended = try await MCPHTTPTests.request(
            port: port, method: "DELETE", session: session, headers: Self.bearer(Self.alpha))
        #expect(ended.status == 204)
        running.cancel()
        _ = try? await running.value
    }

    // MARK: without a token: addresses, against the real daemon

    /// One request to `/mcp` on a connection of its own from `source` (a loopback address); waits for the whole
    /// response.
    static func request(
        port: Int, from source: String, _ body: JSONValue? = nil, method: String = "POST", session: String? = nil
    ) async throws -> (status: Int, session: String?) {
        var headers = ["Accept": MCPHTTPTests.bothForms, "Connection": "close"]
        if body != nil { headers["Content-Type"] = "application/json" }
        if let session { headers["Mcp-Session-Id"] = session }
        let connection = try SSEConnection(
            port: port, method: method, path: "/mcp", headers: headers, body: body?.serialized() ?? [], from: source)
        try await connection.wait(for: "the response from \(method) /mcp") { $0.ended }
        return (try #require(connection.status), connection.header("Mcp-Session-Id"))
    }

    @Test func withoutATokenEachAddressIsAClientOfItsOwn() async throws {
        let server = try await Server(["--mcp-max-sessions-per-client", "2"])
        do {
            let port = server.port
            let theirs = try #require(
                try await Self.request(port: port, from: "127.0.0.2", MCPHTTPTests.initializeMessage()).session)
            // 127.0.0.1 floods: it keeps its two newest sessions, 127.0.0.2's is not touched.
            var mine: [String] = []
            for _ in 0..<5 {
                mine.append(
                    try #require(
                        try await Self.request(port: port, from: "127.0.0.1", MCPHTTPTests.initializeMessage()).session)
                )
            }
            for (index, session) in mine.enumerated() {
                let status = try await Self.request(
                    port: port, from: "127.0.0.1", MCPHTTPTests.call(2, "ping"), session: session
                ).status
                #expect(status == (index >= 3 ? 200 : 404), "session #\(index)")
            }
            // Nor may 127.0.0.1 use or end it.
            let deleted = try await Self.request(port: port, from: "127.0.0.1", method: "DELETE", session: theirs)
            #expect(deleted.status == 404)
            let used = try await Self.request(
                port: port, from: "127.0.0.1", MCPHTTPTests.call(3, "ping"), session: theirs)
            #expect(used.status == 404)
            let pinged = try await Self.request(
                port: port, from: "127.0.0.2", MCPHTTPTests.call(4, "ping"), session: theirs)
            #expect(pinged.status == 200)
            let ended = try await Self.request(port: port, from: "127.0.0.2", method: "DELETE", session: theirs)
            #expect(ended.status == 204)
        } catch {
            Issue.record("\(error); server stderr: \(server.stderr)")
        }
        #expect(await server.stop() == 0)
    }
}
