import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

/// A plugin's progress reaches every client of the real binary: MCP stdio and Streamable HTTP as
/// `notifications/progress` for a request with a `progressToken`, REST as server-sent `progress` events.
@Suite struct ProgressServerTests {
    typealias Server = RESTTests.Server

    private static func isProgress(_ message: JSONValue, token: JSONValue) -> Bool {
        message["method"]?.stringValue == "notifications/progress" && message["params"]?["progressToken"] == token
    }

    @Test func mcpStdioSendsProgressForARequestWithAToken() async throws {
        let child = try MCPChild(plugins: try ServerFixtures.probePlugins())
        _ = try await child.call(
            "initialize",
            ["protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "tests", "version": "1"]])
        try child.send(["jsonrpc": "2.0", "method": "notifications/initialized"])
        let gate = Gate()
        let token: JSONValue = "call-1"
        let id = try child.request(
            "tools/call",
            [
                "name": "probe.progress", "arguments": ["count": 3, "total": 3, "gate": gate.argument],
                "_meta": ["progressToken": token],
            ])
        try await Fixtures.waitUntil("the last report was notified") {
            child.allMessages.contains { Self.isProgress($0, token: token) && $0["params"]?["progress"] == 3 }
        }
        gate.open()
        let response = try await child.response(to: id)
        #expect(response["result"]?["structuredContent"] == ["reported": 3, "refused": 0])
        let messages = child.allMessages
        let notifications = messages.filter { Self.isProgress($0, token: token) }
        #expect(
            notifications.last?["params"] == ["progressToken": token, "progress": 3, "total": 3, "message": "step 3"])
        let answered = try #require(messages.firstIndex { $0["id"] == id })
        #expect(
            messages.indices.filter { Self.isProgress(messages[$0], token: token) }.allSatisfy { $0 < answered },
            "no notification after the response")

        // Without a token the same call sends no notification at all.
        let plain = try await child.call("tools/call", ["name": "probe.progress", "arguments": ["count": 3]])
        #expect(plain["result"]?["structuredContent"] == ["reported": 3, "refused": 0])
        #expect(
            child.allMessages.filter { $0["method"]?.stringValue == "notifications/progress" }.count
                == notifications.count)
        #expect(await child.stop() == 0)
    }

    @Test func mcpHTTPAnswersARequestWithATokenAsAStreamOfProgressThenTheResult() async throws {
        let server = try await Server()
        let session = try await MCPHTTPTests.startSession(port: server.port)
        let gate = Gate()
        let token: JSONValue = 7
        let body = MCPHTTPTests.call(
            2, "tools/call",
            [
                "name": "probe.progress", "arguments": ["count": 3, "total": 3, "gate": gate.argument],
                "_meta": ["progressToken": token],
            ])
        // Both forms acceptable, as every client sends: a call with a token gets the stream all the same.
        let stream = try SSEConnection(
            port: server.port, method: "POST", path: "/mcp",
            headers: [
                "Accept": MCPHTTPTests.bothForms, "Content-Type": "application/json", "Mcp-Session-Id": session,
            ],
            body: body.serialized())
        try await stream.wait(for: "the last report") { connection in
            connection.events.contains { Self.isProgress($0, token: token) && $0["params"]?["progress"] == 3 }
        }
        #expect(stream.header("Content-Type") == "text/event-stream")
        gate.open()
        try await stream.wait(for: "the response") { connection in connection.events.contains { $0["id"] == 2 } }
        let events = stream.events
        #expect(events.last?["result"]?["structuredContent"] == ["reported": 3, "refused": 0])
        #expect(events.dropLast().allSatisfy { Self.isProgress($0, token: token) }, "\(events)")
        #expect(events.dropLast().last?["params"]?["message"] == "step 3")

        // Without a token: one JSON answer, as before.
        let plain = try await MCPHTTPTests.request(
            port: server.port,
            MCPHTTPTests.call(3, "tools/call", ["name": "probe.progress", "arguments": ["count": 3]]),
            session: session)
        #expect(plain.header("Content-Type") == "application/json")
        #expect(plain.json?["result"]?["structuredContent"] == ["reported": 3, "refused": 0])
        await server.stop()
    }

    @Test func restStreamsProgressEventsThenTheResult() async throws {
        let server = try await Server()
        let gate = Gate()
        let arguments: JSONValue = ["count": 3, "total": 3, "gate": gate.argument]
        let stream = try SSEConnection(
            port: server.port, method: "POST", path: "/v1/tools/probe.progress/call",
            headers: ["Accept": "text/event-stream", "Content-Type": "application/json"],
            body: arguments.serialized())
        try await stream.wait(for: "the last report") { connection in
            connection.events.contains { $0 == ["progress": 3, "total": 3, "message": "step 3"] }
        }
        #expect(stream.header("Content-Type") == "text/event-stream")
        gate.open()
        try await stream.wait(for: "the result") { $0.text.contains("event: result") && $0.ended }
        // Lines split on LF bytes: in Swift's text a chunk header's CRLF is one character, glued to the next line.
        let names = Array(stream.text.utf8).split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            .filter { $0.hasPrefix("event: ") }.map { $0.dropFirst(7) }
        #expect(names.last == "result")
        #expect(names.dropLast(2).allSatisfy { $0 == "progress" } && names.dropLast().last == "meta", "\(names)")
        let events = stream.events
        #expect(events.last == ["reported": 3, "refused": 0])
        #expect(events.dropLast().last == ["status": 200, "headers": ["x-toolhost-cached": "false"]])

        // A failure is an `error` event with the status the JSON answer would have had.
        let failing = try SSEConnection(
            port: server.port, method: "POST", path: "/v1/tools/probe.fail/call",
            headers: ["Accept": "text/event-stream", "Content-Type": "application/json"], body: Array("{}".utf8))
        try await failing.wait(for: "the error") { $0.ended }
        #expect(failing.text.contains("event: error"))
        #expect(failing.events.last?["error"]?["code"] == "plugin_error")
        #expect(failing.events.dropLast().last?["status"] == 422)

        // JSON by default, as before.
        let plain = try SSEConnection(
            port: server.port, method: "POST", path: "/v1/tools/probe.progress/call",
            headers: ["Content-Type": "application/json"], body: Array(#"{"count":2}"#.utf8))
        try await plain.wait(for: "the answer") { $0.text.contains("reported") }
        #expect(plain.header("Content-Type") == "application/json")
        await server.stop()
    }

    /// `toolhost call` on a terminal (a tmux pane): a bar with the percentage, the count and the message while the
    /// call runs, cleared before the result is printed.
    @Test func callDrawsABarOnATerminal() async throws {
        let tmux = TopTests.Tmux()  // its helpers address the session "top"
        let gate = Gate()
        let arguments = #"{"count":40,"total":100,"gate":"\#(gate.path)"}"#
        let command =
            "'\(ServerFixtures.binary)' call --plugins '\(try ServerFixtures.probePlugins())' probe.progress "
            + "'\(arguments)'; echo CALL-EXITED $?; exec cat"
        let script =
            #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; "#
            + #"exec /usr/bin/tmux -L "$1" new-session -d -s top -x 160 -y 20 "$2" >/dev/null 2>&1 </dev/null"#
        do {
            let started = try await Fixtures.run("/bin/bash", ["-c", script, "bash", tmux.socket, command])
            #expect(started.status == 0, "\(started.stderr)")
            let running = try await tmux.wait("the bar shows the last report") { $0.contains("40/100 step 40") }
            #expect(running.contains("[############..................]  40% 40/100 step 40"), "\(running)")
            gate.open()
            let after = try await tmux.wait("the call ends") { $0.contains("CALL-EXITED 0") }
            #expect(after.contains(#""reported" : 40"#) || after.contains(#""reported": 40"#), "\(after)")
            #expect(!after.contains("step 40"), "the bar was cleared: \(after)")
        } catch {
            await tmux.stop()
            throw error
        }
        await tmux.stop()
    }
}
