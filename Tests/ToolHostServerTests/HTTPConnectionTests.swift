import Foundation
import Testing

/// The daemon's HTTP connections against clients that hold them: one that never finishes its request is closed
/// at the idle timeout, and connections over `maxConnections` are refused at once while the others are served.
/// Raw sockets throughout (URLSession would keep connections of its own open).
@Suite struct HTTPConnectionTests {
    typealias Server = RESTTests.Server

    /// A request whose head never ends (slowloris), or a connection that sends nothing, is closed once it has been
    /// idle for `idleTimeoutSeconds`; a call that runs longer than that is still answered.
    @Test func aConnectionThatNeverFinishesItsRequestIsClosedAtTheIdleTimeout() async throws {
        let server = try await Server(["--idle-timeout-seconds", "1"])
        do {
            let partial = try SSEConnection(
                port: server.port, sending: Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8))
            let silent = try SSEConnection(port: server.port, sending: [])
            let opened = ContinuousClock.now
            try await partial.wait(for: "the server to close a request that never ends", within: 60) { $0.isClosed }
            try await silent.wait(for: "the server to close a silent connection", within: 60) { $0.isClosed }
            #expect(ContinuousClock.now - opened >= .milliseconds(900))
            #expect(partial.status == nil)
            // The timeout counts silence, not the length of a call: a 2 s call on a 1 s timeout is answered.
            let slow = try SSEConnection(
                port: server.port, method: "POST", path: "/v1/tools/probe.sleep/call",
                headers: ["Content-Type": "application/json", "Connection": "close"], body: Array(#"{"ms":2000}"#.utf8))
            try await slow.wait(for: "the slow call's answer", within: 60) { $0.status != nil }
            #expect(slow.status == 200)
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    /// With `maxConnections` 4, four idle connections are kept and a fifth is answered 503 and closed at once;
    /// once one of the four closes, a new connection is served.
    @Test func connectionsOverTheCapAreRefusedAtOnceAndTheRestServed() async throws {
        let server = try await Server(["--max-connections", "4"])
        do {
            var held: [SSEConnection] = []
            for _ in 0..<4 { held.append(try SSEConnection(port: server.port, sending: [])) }
            let fifth = try SSEConnection(port: server.port, sending: [])
            try await fifth.wait(for: "the fifth connection to be refused", within: 60) { $0.isClosed }
            #expect(fifth.status == 503)
            #expect(fifth.header("Retry-After") == "1")
            #expect(fifth.text.contains("too_many_connections"))
            #expect(held.allSatisfy { !$0.isClosed })
            // The four are served: one of them sends a request.
            try held[0].send(Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            try await held[0].wait(for: "an answer on a held connection") { $0.status != nil }
            #expect(held[0].status == 200)
            // One closes; a new connection is served once the server has seen the close.
            held[3].cancel()
            var status = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while status != 200, ContinuousClock.now < deadline {
                // Refused (503, or reset before the answer is read) until the server has seen the close.
                let probe = try SSEConnection(
                    port: server.port, method: "GET", path: "/healthz", headers: ["Connection": "close"])
                try await probe.wait(for: "an answer or a close") { $0.status != nil || $0.isClosed }
                status = probe.status ?? 0
                if status != 200 { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(status == 200)
            #expect(held[0..<3].allSatisfy { !$0.isClosed })
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }
}
