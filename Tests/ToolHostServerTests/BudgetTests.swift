import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

@testable import ToolHostServer

/// Result budgets: a result over the caller's `maxResultBytes` (or its tool's default) is answered shaped to fit,
/// and the whole stays readable for a while by the caller alone, over REST and MCP; the store is bounded in bytes
/// and time (with a clock the test moves).
@Suite struct BudgetTests {
    /// The probe plugin, with `echo` given a default budget of 2048 bytes in its manifest.
    private static func host() throws -> ToolHost {
        let plugins = Fixtures.temporaryDirectory("toolhost-budget")
        let probe = try ServerFixtures.probePlugins() + "/probe/libprobe.so"
        try Fixtures.install(
            in: plugins, folder: "probe",
            manifest: Fixtures.probeManifest(toolPolicy: ["echo": ["maxResultBytes": 2048]]), libraryFrom: probe)
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configuration.cache.enabled = false
        return ToolHost(configuration: configuration)
    }

    private static func app(_ host: ToolHost) -> some ApplicationProtocol {
        var configuration = RESTServer.Configuration()
        configuration.port = 0
        return RESTServer(host: host, configuration: configuration, logger: Logger(label: "test")).makeService { _ in }
    }

    /// 3000 numbers: about 15 KB of JSON.
    private static let items: JSONValue = ["items": .array((0..<3000).map { .int(Int64($0)) })]

    private struct Answer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: [UInt8]
        var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    }

    private static func send(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, _ body: JSONValue? = nil,
        headers: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await client.execute(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0.serialized()) }
        ) { response in
            Answer(status: response.status, headers: response.headers, body: Array(response.body.readableBytesView))
        }
    }

    // MARK: REST

    /// Over budget: the answer fits, keeps the array's ends, says what was cut and the original size, and names
    /// the kept whole, which `GET /v1/results/{id}` returns byte for byte. The budget comes from the query, the
    /// header, a batch item or the manifest; one out of range is 400 naming where it came from.
    @Test func aRESTResultOverItsBudgetIsShapedAndTheWholeIsRetrievable() async throws {
        let host = try Self.host()
        defer { host.shutdown() }
        let whole = Self.items.serialized()
        try await Self.app(host).test(.live) { client in
            let shaped = try await Self.send(client, .post, "/v1/tools/probe.echo/call?maxResultBytes=1024", Self.items)
            #expect(shaped.status == .ok)
            #expect(shaped.body.count <= 1024)
            #expect(shaped.headers[RESTServer.truncatedHeader] == "true")
            let id = try #require(shaped.headers[RESTServer.resultIDHeader])
            let note = shaped.json["truncated"]
            #expect(note?["originalBytes"] == .int(Int64(whole.count)))
            #expect(note?["resultId"] == .string(id))
            #expect(note?["retrieve"] == .string("GET /v1/results/\(id)"))
            let kept = try #require(shaped.json["result"]?["items"]?.arrayValue)
            #expect(kept.first == 0)
            #expect(kept.last == 2999)
            #expect(note?["itemsCut"] == .int(Int64(3000 - (kept.count - 1))))

            let retrieved = try await Self.send(client, .get, "/v1/results/\(id)")
            #expect(retrieved.status == .ok)
            #expect(retrieved.body == whole)
            let unknown = try await Self.send(client, .get, "/v1/results/" + String(repeating: "0", count: 32))
            #expect(unknown.status == .notFound)

            // The header; the manifest's default (2048) when the call gives none; a budget the result fits.
            let byHeader = try await Self.send(
                client, .post, "/v1/tools/probe.echo/call", Self.items,
                headers: [RESTServer.maxResultBytesHeader: "4096"])
            #expect(byHeader.body.count <= 4096 && byHeader.body.count > 2048)
            let byManifest = try await Self.send(client, .post, "/v1/tools/probe.echo/call", Self.items)
            #expect(byManifest.body.count <= 2048)
            #expect(byManifest.json["truncated"]?["budgetBytes"] == 2048)
            let fits = try await Self.send(
                client, .post, "/v1/tools/probe.echo/call?maxResultBytes=1000000", Self.items)
            #expect(fits.body == whole)
            #expect(fits.headers[RESTServer.truncatedHeader] == nil)

            for (path, headers, named) in [
                ("/v1/tools/probe.echo/call?maxResultBytes=10", HTTPFields(), "query parameter maxResultBytes"),
                (
                    "/v1/tools/probe.echo/call", [RESTServer.maxResultBytesHeader: "lots"],
                    "header X-Toolhost-Max-Result-Bytes"
                ),
            ] {
                let refused = try await Self.send(client, .post, path, Self.items, headers: headers)
                #expect(refused.status == .badRequest)
                let message = refused.json["error"]?["message"]?.stringValue ?? ""
                #expect(message.contains("\(named) must be an integer in 1024...1073741824"), "\(message)")
            }

            // A batch item's budget.
            let batch = try await Self.send(
                client, .post, "/v1/batch",
                [["tool": "probe.echo", "arguments": Self.items, "maxResultBytes": 1500]])
            let item = batch.json["results"]?[0]
            #expect(item?["ok"] == true)
            #expect(item?["result"]?["truncated"]?["budgetBytes"] == 1500)
            #expect((item?["result"]?.serialized().count ?? .max) <= 1500)
            let badBatch = try await Self.send(
                client, .post, "/v1/batch", [["tool": "probe.echo", "maxResultBytes": 0]])
            #expect(badBatch.status == .badRequest)
            #expect(badBatch.json["error"]?["message"]?.stringValue?.contains("maxResultBytes must be") == true)
        }
    }

    // MARK: MCP

    /// Over MCP the budget is `_meta.maxResultBytes`: the text is the shaped result, a resource link names the kept
    /// whole, `resources/read` returns it in the session that made the call, and another session cannot read it.
    @Test func anMCPResultOverItsBudgetLinksAResourceOnlyItsSessionCanRead() async throws {
        let host = try Self.host()
        defer { host.shutdown() }
        let whole = Self.items.serialized()
        try await Self.app(host).test(.live) { client in
            let accept: HTTPFields = [.accept: "application/json, text/event-stream"]
            func session() async throws -> HTTPFields {
                let initialize = try await Self.send(
                    client, .post, "/mcp", MCPHTTPTests.initializeMessage(), headers: accept)
                #expect(initialize.json["result"]?["capabilities"]?["resources"] != nil)
                var headers = accept
                headers[MCPHTTPTransport.sessionHeader] = try #require(
                    initialize.headers[MCPHTTPTransport.sessionHeader])
                return headers
            }
            let mine = try await session()
            let theirs = try await session()
            let call = MCPHTTPTests.call(
                2, "tools/call",
                ["name": "probe.echo", "arguments": Self.items, "_meta": ["maxResultBytes": 1024]])
            let answer = try await Self.send(client, .post, "/mcp", call, headers: mine).json
            let content = try #require(answer["result"]?["content"]?.arrayValue)
            let text = try #require(content.first?["text"]?.stringValue)
            #expect(text.utf8.count <= 1024)
            let shaped = try JSONValue.parse(text)
            #expect(shaped["truncated"]?["originalBytes"] == .int(Int64(whole.count)))
            let link = try #require(content.first { $0["type"] == "resource_link" })
            let uri = try #require(link["uri"]?.stringValue)
            #expect(uri.hasPrefix("toolhost://results/"))
            #expect(shaped["truncated"]?["resource"] == .string(uri))

            let read = try await Self.send(
                client, .post, "/mcp", MCPHTTPTests.call(3, "resources/read", ["uri": .string(uri)]), headers: mine)
            let contents = read.json["result"]?["contents"]?[0]
            #expect(contents?["text"]?.stringValue.map { Array($0.utf8) } == whole)
            let listed = try await Self.send(
                client, .post, "/mcp", MCPHTTPTests.call(4, "resources/list"), headers: mine)
            #expect(listed.json["result"]?["resources"]?[0]?["uri"] == .string(uri))

            let stolen = try await Self.send(
                client, .post, "/mcp", MCPHTTPTests.call(5, "resources/read", ["uri": .string(uri)]), headers: theirs)
            #expect(stolen.json["error"]?["code"] == .int(MCPDispatcher.ErrorCode.resourceNotFound.rawValue))
            #expect(stolen.json["result"] == nil)

            let refused = try await Self.send(
                client, .post, "/mcp",
                MCPHTTPTests.call(6, "tools/call", ["name": "probe.echo", "_meta": ["maxResultBytes": 5]]),
                headers: mine)
            #expect(refused.json["error"]?["code"] == .int(MCPDispatcher.ErrorCode.invalidParams.rawValue))
            #expect(
                refused.json["error"]?["message"]?.stringValue?.contains("params._meta.maxResultBytes must be") == true)
        }
    }

    // MARK: the store

    /// A clock the test moves.
    final class ManualClock: Sendable {
        private let now = Mutex(ContinuousClock.now)
        var instant: ContinuousClock.Instant { now.withLock { $0 } }
        func advance(_ duration: Duration) { now.withLock { $0 += duration } }
    }

    /// Results live `lifetime`, the store holds at most `maxBytes` (oldest out first), a result larger than the
    /// store is not kept, and only the owner reads one.
    @Test func theStoreIsBoundedInBytesAndTimeAndReadOnlyByItsOwner() {
        let clock = ManualClock()
        var configuration = ResultStore.Configuration()
        configuration.maxBytes = 100
        configuration.lifetime = .seconds(60)
        let store = ResultStore(configuration: configuration) { clock.instant }
        let first = store.keep([UInt8](repeating: 1, count: 40), owner: "a")
        let second = store.keep([UInt8](repeating: 2, count: 40), owner: "a")
        #expect(first != nil && second != nil && first != second)
        #expect(first?.count == 32)
        #expect(store.read(first!, owner: "b") == nil, "another owner reads nothing")
        #expect(store.read(first!, owner: "a")?.first == 1)
        // A third 40 bytes passes 100: the oldest goes.
        let third = store.keep([UInt8](repeating: 3, count: 40), owner: "a")
        #expect(store.read(first!, owner: "a") == nil)
        #expect(store.read(second!, owner: "a")?.first == 2)
        #expect(store.bytesKept == 80)
        #expect(store.keep([UInt8](repeating: 4, count: 101), owner: "a") == nil, "larger than the store")
        clock.advance(.seconds(59))
        #expect(store.read(third!, owner: "a") != nil)
        clock.advance(.seconds(1))
        #expect(store.read(third!, owner: "a") == nil, "expired at its lifetime")
        #expect(store.bytesKept == 0)
    }
}
