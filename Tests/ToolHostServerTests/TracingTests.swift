import Foundation
import FoundationNetworking
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing
import ToolHostJSON
import ToolHostTesting

/// Spans of real calls to the real `toolhost serve`, received at an OTLP/HTTP endpoint the test runs itself.
@Suite struct TracingTests {
    typealias Server = RESTTests.Server

    /// A small OTLP/HTTP collector: `POST /v1/traces` with `http/json` bodies, kept as they came.
    final class Collector: Sendable {
        /// What the server's handlers write into.
        private final class Store: Sendable {
            let bodies = Mutex<[[UInt8]]>([])
            /// Every request, whatever its path (an exporter misconfigured to another path counts too).
            let requests = Mutex(0)
            let port = Mutex<Int?>(nil)
        }
        private let store = Store()
        private let task: Task<Void, any Error>

        init() async throws {
            let router = Router()
            let store = self.store
            router.post("/v1/traces") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 64 << 20)
                store.requests.withLock { $0 += 1 }
                store.bodies.withLock { $0.append(Array(buffer: body)) }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
            }
            for path: RouterPath in ["/", "**"] {
                router.on(path, method: .post) { _, _ -> Response in
                    store.requests.withLock { $0 += 1 }
                    return Response(status: .notFound)
                }
            }
            // Quiet: its shutdown on cancellation logs errors that are not the test's.
            var logger = Logger(label: "otlp-collector")
            logger.logLevel = .critical
            let app = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in store.port.withLock { $0 = channel.localAddress?.port } },
                logger: logger)
            task = Task { try await app.runService() }
            try await Fixtures.waitUntil("the collector listens", within: .seconds(60)) {
                store.port.withLock { $0 } != nil
            }
        }

        var port: Int { store.port.withLock { $0 } ?? 0 }
        var url: String { "http://127.0.0.1:\(port)" }
        /// How many requests came, to any path.
        var requests: Int { store.requests.withLock { $0 } }

        /// Every span received so far.
        var spans: [Span] {
            store.bodies.withLock { $0 }.flatMap { body -> [Span] in
                guard let root = try? JSONValue.parse(body) else { return [] }
                return (root["resourceSpans"]?.arrayValue ?? []).flatMap { resource in
                    (resource["scopeSpans"]?.arrayValue ?? []).flatMap { scope in
                        (scope["spans"]?.arrayValue ?? []).map(Span.init)
                    }
                }
            }
        }

        func stop() {
            task.cancel()
        }
    }

    /// One span as OTLP/JSON gives it (swift-otel writes the ids as protobuf JSON does: base64), ids in hex.
    struct Span {
        let name: String
        let traceID: String
        let spanID: String
        let parentSpanID: String
        let attributes: [String: JSONValue]
        let statusCode: Int64

        init(_ json: JSONValue) {
            name = json["name"]?.stringValue ?? ""
            traceID = Self.hex(json["traceId"]?.stringValue)
            spanID = Self.hex(json["spanId"]?.stringValue)
            parentSpanID = Self.hex(json["parentSpanId"]?.stringValue)
            var attributes: [String: JSONValue] = [:]
            for attribute in json["attributes"]?.arrayValue ?? [] {
                guard let key = attribute["key"]?.stringValue, let value = attribute["value"]?.objectValue,
                    let first = value.first
                else { continue }
                attributes[key] = first.value
            }
            self.attributes = attributes
            statusCode = json["status"]?["code"]?.intValue ?? 0
        }

        func string(_ key: String) -> String? { attributes[key]?.stringValue }
        func bool(_ key: String) -> Bool? {
            if case .bool(let flag) = attributes[key] { return flag }
            return nil
        }

        /// Base64 (protobuf JSON) or hex (the OTLP/JSON spec) to lower-case hex.
        static func hex(_ text: String?) -> String {
            guard let text, !text.isEmpty else { return "" }
            if text.count % 2 == 0, text.allSatisfy(\.isHexDigit), text.count == 32 || text.count == 16 {
                return text.lowercased()
            }
            guard let data = Data(base64Encoded: text) else { return text }
            return data.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// A W3C traceparent with fresh ids: the agent's span that a call must join.
    struct Parent {
        let traceID = Self.randomHex(16)
        let spanID = Self.randomHex(8)
        var header: String { "00-\(traceID)-\(spanID)-01" }

        static func randomHex(_ bytes: Int) -> String {
            (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        }
    }

    @Test func callSpansReachTheCollectorAsChildrenOfTheAgentsSpan() async throws {
        let collector = try await Collector()
        defer { collector.stop() }
        let server = try await Server(
            ["--otel-endpoint", collector.url, "--otel-protocol", "http/json"],
            plugins: try ServerFixtures.mixedPlugins(), environment: ["OTEL_BSP_SCHEDULE_DELAY": "50"])
        do {
            #expect(server.stderr.contains("tracing: spans go to \(collector.url)/v1/traces"))
            let (rest, cached, failing, isolated, invalid, mcp) = (
                Parent(), Parent(), Parent(), Parent(), Parent(), Parent()
            )
            func call(_ tool: String, _ body: String, _ parent: Parent) async throws -> Int {
                try await server.request(
                    "POST", "/v1/tools/\(tool)/call", body: body, headers: ["traceparent": parent.header]
                ).status
            }
            #expect(try await call("probe.echo", #"{"trace":1}"#, rest) == 200)
            #expect(try await call("probe.echo", #"{"trace":1}"#, cached) == 200)
            #expect(try await call("probe.fail", "{}", failing) != 200)
            #expect(try await call("faults.ok", "{}", isolated) == 200)
            #expect(try await call("probe.count", #"{"n":"three"}"#, invalid) == 400)
            let session = try await MCPHTTPTests.startSession(port: server.port)
            let reply = try await MCPHTTPTests.request(
                port: server.port,
                MCPHTTPTests.call(
                    2, "tools/call",
                    [
                        "name": "probe.echo", "arguments": ["trace": 2],
                        "_meta": ["traceparent": .string(mcp.header)],
                    ]),
                session: session)
            #expect(reply.status == 200)
            #expect(reply.json?["result"]?["isError"] != true)
            // The same over `/mcp` with the traceparent as a request header instead.
            let mcpHeader = Parent()
            let headerReply = try await MCPHTTPTests.request(
                port: server.port,
                MCPHTTPTests.call(3, "tools/call", ["name": "probe.echo", "arguments": ["trace": 3]]),
                session: session, headers: ["traceparent": mcpHeader.header])
            #expect(headerReply.status == 200)

            let parents = [rest, cached, failing, isolated, invalid, mcp, mcpHeader]
            try await Fixtures.waitUntil("the collector has the span of every call", within: .seconds(60)) {
                let roots = collector.spans.filter { $0.name == "toolhost.call" }
                return parents.allSatisfy { parent in roots.contains { $0.traceID == parent.traceID } }
            }
            let spans = collector.spans
            func root(of parent: Parent) throws -> Span {
                try #require(spans.first { $0.name == "toolhost.call" && $0.traceID == parent.traceID })
            }
            func children(of span: Span) -> [String: Span] {
                Dictionary(
                    spans.filter { $0.parentSpanID == span.spanID && $0.traceID == span.traceID }.map { ($0.name, $0) }
                ) { first, _ in first }
            }

            // The call joins the agent's trace: same trace id, parent = the agent's span.
            for parent in parents {
                let call = try root(of: parent)
                #expect(call.parentSpanID == parent.spanID, "\(call.string("toolhost.tool") ?? "?")")
                #expect(call.string("toolhost.agent") != nil)
            }

            // A call that ran: validation, cache lookup, queue wait, the attempt and the plugin's run, all children of
            // the call's span.
            let ran = try root(of: rest)
            #expect(ran.string("toolhost.tool") == "probe.echo")
            #expect(ran.string("toolhost.plugin") == "probe")
            #expect(ran.string("gen_ai.operation.name") == "execute_tool")
            #expect(ran.string("toolhost.outcome") == "ok")
            #expect(ran.bool("toolhost.cached") == false)
            let phases = children(of: ran)
            for name in ["toolhost.validate", "toolhost.cache.lookup", "toolhost.queue", "toolhost.attempt"] {
                #expect(phases[name] != nil, "\(name) under the call's span; got \(phases.keys.sorted())")
            }
            #expect(phases["toolhost.plugin.run"] != nil, "got \(phases.keys.sorted())")
            #expect(phases["toolhost.cache.lookup"]?.bool("toolhost.cache.hit") == false)

            // The same call again: answered from the cache, no attempt.
            let hit = try root(of: cached)
            #expect(hit.string("toolhost.outcome") == "cached")
            #expect(hit.bool("toolhost.cached") == true)
            let hitPhases = children(of: hit)
            #expect(hitPhases["toolhost.cache.lookup"]?.bool("toolhost.cache.hit") == true)
            #expect(hitPhases["toolhost.attempt"] == nil)

            // A failing call: its error code on the call's span and on the attempt's, status error (2).
            let failed = try root(of: failing)
            #expect(failed.string("toolhost.outcome") == "error")
            #expect(failed.string("error.type") == "plugin_error")
            #expect(failed.statusCode == 2)
            #expect(children(of: failed)["toolhost.attempt"]?.string("error.type") == "plugin_error")

            // Arguments refused by the schema: the validation span carries the error.
            let refused = try root(of: invalid)
            #expect(refused.string("error.type") == "invalid_arguments")
            #expect(children(of: refused)["toolhost.validate"]?.string("error.type") == "invalid_arguments")

            // A plugin in a worker process: the worker round trip instead of an in-process run.
            let worker = try root(of: isolated)
            #expect(worker.string("toolhost.plugin") == "faults")
            let workerPhases = children(of: worker)
            #expect(workerPhases["toolhost.worker.round_trip"] != nil, "got \(workerPhases.keys.sorted())")
            #expect(workerPhases["toolhost.plugin.run"] == nil)

            // MCP over HTTP, with the traceparent in `params._meta`: the agent is the client's name.
            let overMCP = try root(of: mcp)
            #expect(overMCP.string("toolhost.agent") == "tests")
            #expect(children(of: overMCP)["toolhost.plugin.run"] != nil)
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    /// A call by capability has a span of its own, `toolhost.capability`, in the agent's trace, and every provider
    /// tried is a `toolhost.call` below it: here the best-ranked provider crashes and the next one answers.
    @Test func aCallByCapabilityIsOneSpanAboveTheProvidersItTried() async throws {
        let collector = try await Collector()
        defer { collector.stop() }
        let server = try await Server(
            ["--otel-endpoint", collector.url, "--otel-protocol", "http/json"],
            plugins: try await CapabilityFixtures.plugins(faults: ["answer": ["weight": 10]]),
            environment: ["OTEL_BSP_SCHEDULE_DELAY": "50"])
        do {
            let parent = Parent()
            let served = try await server.request(
                "POST", "/v1/capabilities/answer/call", body: #"{"crash":1}"#,
                headers: ["traceparent": parent.header])
            #expect(served.status == 200)
            #expect(served.headers["X-Toolhost-Provider"] as? String == "probe.echo")
            try await Fixtures.waitUntil("the capability's span and both providers' spans", within: .seconds(60)) {
                let spans = collector.spans.filter { $0.traceID == parent.traceID }
                return spans.contains { $0.name == "toolhost.capability" }
                    && spans.filter { $0.name == "toolhost.call" }.count == 2
            }
            let spans = collector.spans.filter { $0.traceID == parent.traceID }
            let umbrella = try #require(spans.first { $0.name == "toolhost.capability" })
            #expect(umbrella.parentSpanID == parent.spanID)
            #expect(umbrella.string("toolhost.capability") == "answer")
            #expect(umbrella.string("toolhost.provider") == "probe.echo")
            // OTLP/JSON writes 64-bit integers as strings (protobuf JSON).
            #expect(umbrella.attributes["toolhost.failed_over"] == "1")
            let calls = spans.filter { $0.name == "toolhost.call" }
            #expect(calls.allSatisfy { $0.parentSpanID == umbrella.spanID })
            #expect(Set(calls.compactMap { $0.string("toolhost.tool") }) == ["faults.answer", "probe.echo"])
            #expect(
                calls.first { $0.string("toolhost.tool") == "faults.answer" }?.string("error.type") == "plugin_crashed")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test func spansHeldAtShutdownAreFlushedBeforeTheDaemonExits() async throws {
        let collector = try await Collector()
        defer { collector.stop() }
        // Batches every minute: only the flush at shutdown can send this call's spans within the test. The flush
        // has until the group's shutdown deadline (the grace period and a margin) and the export its timeout: both
        // long, so a loaded machine (a slow collector in this process) does not cut it (seen in a full run).
        let server = try await Server(
            ["--otel-endpoint", collector.url, "--otel-protocol", "http/json", "--grace-seconds", "60"],
            environment: [
                "OTEL_BSP_SCHEDULE_DELAY": "60000", "OTEL_BSP_EXPORT_TIMEOUT": "60000",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "60000",
            ])
        let parent = Parent()
        let status = try await server.request(
            "POST", "/v1/tools/probe.echo/call", body: #"{"flush":1}"#, headers: ["traceparent": parent.header]
        ).status
        #expect(status == 200)
        #expect(collector.requests == 0)
        #expect(await server.stop() == 0)
        let root = collector.spans.first { $0.name == "toolhost.call" && $0.traceID == parent.traceID }
        #expect(root?.parentSpanID == parent.spanID, "\(collector.requests) requests; daemon: \(server.stderr)")
    }

    @Test func withoutAnEndpointNothingIsExportedEvenWithOTelVariablesSet() async throws {
        let collector = try await Collector()
        defer { collector.stop() }
        // The variables swift-otel itself would read: toolhost must not start an exporter because of them.
        let server = try await Server(
            [], plugins: try ServerFixtures.mixedPlugins(),
            environment: [
                "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url + "/v1/traces",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "10",
            ])
        let parent = Parent()
        for tool in ["probe.echo", "probe.echo", "probe.fail", "faults.ok"] {
            _ = try await server.request(
                "POST", "/v1/tools/\(tool)/call", body: "{}", headers: ["traceparent": parent.header])
        }
        // The flush point: a graceful stop ends every service (an exporter would flush its spans first).
        #expect(await server.stop() == 0)
        #expect(!server.stderr.contains("tracing: spans go to"))
        #expect(collector.requests == 0)
    }
}
