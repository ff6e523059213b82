import Foundation
import FoundationNetworking
import MCP
import SystemPackage
import Testing
import ToolHostJSON
import ToolHostTesting

/// The official MCP swift-sdk `Client`, over its stdio transport connected to a real `toolhost mcp`.
@Suite struct MCPClientTests {
    /// A `toolhost mcp` child whose stdin and stdout are pipes the SDK's transport uses.
    final class Child: Sendable {
        let process = Process()
        let toChild = Pipe()
        let fromChild = Pipe()
        let errors = Pipe()
        /// What the child wrote on stderr so far.
        let errorText = TextBox()

        init(plugins: String, extraArguments: [String] = []) throws {
            process.executableURL = URL(fileURLWithPath: ServerFixtures.binary)
            process.arguments = ["mcp", "--plugins", plugins] + extraArguments
            process.environment = ProcessInfo.processInfo.environment.merging([
                "TOOLHOST_STATE_DIR": ServerFixtures.temporaryDirectory("toolhost-state")
            ]) { $1 }
            process.standardInput = toChild
            process.standardOutput = fromChild
            process.standardError = errors
            try process.run()
            let errorHandle = errors.fileHandleForReading
            Thread.detachNewThread { [errorText] in
                while true {
                    let chunk = errorHandle.availableData
                    if chunk.isEmpty { break }
                    errorText.append(String(decoding: chunk, as: UTF8.self))
                }
            }
        }

        var transport: StdioTransport {
            StdioTransport(
                input: FileDescriptor(rawValue: fromChild.fileHandleForReading.fileDescriptor),
                output: FileDescriptor(rawValue: toChild.fileHandleForWriting.fileDescriptor))
        }

        /// Closes the child's stdin and waits (bounded) for it to exit; kills it if it does not.
        func stop() async -> Int32 {
            try? toChild.fileHandleForWriting.close()
            return await awaitExit(process)
        }
    }

    private func structured(_ content: [Tool.Content]) throws -> JSONValue {
        guard case .text(let text, _, _) = content.first else {
            throw ServerFixtureError("expected text content, got \(content)")
        }
        return try JSONValue.parse(text)
    }

    @Test func sdkClientListsCallsAndCancels() async throws {
        let child = try Child(plugins: try ServerFixtures.probePlugins())
        let client = Client(name: "toolhost-tests", version: "1.0")
        let initialized = try await client.connect(transport: child.transport)
        #expect(initialized.serverInfo.name == "toolhost")
        #expect(["2025-06-18", "2025-03-26"].contains(initialized.protocolVersion))

        let (tools, _) = try await client.listTools()
        let echo = try #require(tools.first { $0.name == "probe.echo" })
        #expect(echo.annotations.idempotentHint == true)
        #expect(tools.count == (try ServerFixtures.probeToolNames()).count)

        let called = try await client.callTool(name: "probe.echo", arguments: ["word": "hi"])
        #expect(called.isError != true)
        #expect(try structured(called.content) == ["word": "hi"])

        let failed = try await client.callTool(name: "probe.fail", arguments: [:])
        #expect(failed.isError == true)

        // A plugin that printf's to stdout does not break the client's stream.
        let printed = try await client.callTool(name: "probe.print", arguments: [:])
        #expect(try structured(printed.content) == ["printed": true])

        // Cancellation: the plugin sees it (sleep_read counts cancelled sleeps).
        let slow: RequestContext<CallTool.Result> = try await client.callTool(
            name: "probe.sleep", arguments: ["ms": 20000])
        let deadline = ContinuousClock.now + .seconds(60)
        func sleepState() async throws -> JSONValue {
            try structured(try await client.callTool(name: "probe.sleep_read", arguments: [:]).content)
        }
        while try await sleepState()["started"] != 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await client.cancelRequest(slow.requestID, reason: "test")
        while try await sleepState()["cancelled"] != 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try await sleepState()["cancelled"] == 1)

        await client.disconnect()
        #expect(await child.stop() == 0)
    }

    /// The SDK client's `clientInfo` name is the agent its calls count under (read from the stdio daemon's own
    /// metrics listener).
    @Test func sdkClientsCallsCountUnderItsClientName() async throws {
        let child = try Child(
            plugins: try ServerFixtures.probePlugins(), extraArguments: ["--metrics-listen", "127.0.0.1:0"])
        let client = Client(name: "swift-sdk-agent", version: "1.0")
        _ = try await client.connect(transport: child.transport)
        let called = try await client.callTool(name: "probe.echo", arguments: ["from": "swift"])
        #expect(called.isError != true)
        var port: Int?
        try await Fixtures.waitUntil("the metrics listener's startup line") {
            let text = child.errorText.text
            if let range = text.range(of: "metrics listening on http://127.0.0.1:") {
                port = Int(text[range.upperBound...].prefix { $0.isNumber })
            }
            return port != nil
        }
        let metricsPort = try #require(port)
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
        let metrics = String(decoding: data, as: UTF8.self)
        #expect(
            metrics.contains(#"toolhost_agent_calls_total{agent="swift-sdk-agent",outcome="success"} 1"#), "\(metrics)")
        await client.disconnect()
        #expect(await child.stop() == 0)
    }
}
