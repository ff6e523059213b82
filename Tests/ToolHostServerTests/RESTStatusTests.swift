import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import ToolHost
import ToolHostJSON
import ToolHostServer
import ToolHostTesting

/// Each error code's HTTP status, through the REST router in memory (HummingbirdTesting), against the real probe
/// plugin: the mapping documented on `RESTServer`, without spawning the binary.
@Suite struct RESTStatusTests {
    private static func host(_ configure: (inout ToolHost.Configuration) -> Void = { _ in }) throws -> ToolHost {
        var configuration = ToolHost.Configuration(
            pluginsDirectory: try ServerFixtures.probePlugins(),
            libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configure(&configuration)
        return ToolHost(configuration: configuration)
    }

    private static func app(_ host: ToolHost, maxBodyBytes: Int = 1 << 20) -> some ApplicationProtocol {
        var configuration = RESTServer.Configuration()
        configuration.maxBodyBytes = maxBodyBytes
        return RESTServer(host: host, configuration: configuration, logger: Logger(label: "test"))
            .makeService { _ in }
    }

    private static let json: HTTPFields = [.contentType: "application/json"]

    private static func call(
        _ client: some TestClientProtocol, _ path: String, _ body: String, headers: HTTPFields = json
    ) async throws -> (status: HTTPResponse.Status, code: String?, headers: HTTPFields) {
        try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) {
            response in
            let parsed = try? JSONValue.parse(Array(response.body.readableBytesView))
            return (response.status, parsed?["error"]?["code"]?.stringValue, response.headers)
        }
    }

    @Test func eachErrorCodeHasItsStatus() async throws {
        let host = try Self.host()
        defer { host.shutdown() }
        try await Self.app(host, maxBodyBytes: 4096).test(.router) { client in
            #expect(try await Self.call(client, "/v1/tools/probe.echo/call", #"{"a":1}"#).status == .ok)
            let cases: [(String, String, HTTPResponse.Status, String?)] = [
                ("/v1/tools/probe.nope/call", "{}", .notFound, "not_found"),
                ("/v1/tools/probe.echo/call", "[1]", .badRequest, "invalid_arguments"),
                ("/v1/tools/probe.echo/call", "{not json", .badRequest, "invalid_arguments"),
                ("/v1/tools/probe.reject/call", "{}", .badRequest, "invalid_arguments"),
                ("/v1/tools/probe.fail/call", "{}", .unprocessableContent, "plugin_error"),
                ("/v1/tools/probe.sleep/call?timeoutMs=50", #"{"ms":5000}"#, .gatewayTimeout, "timeout"),
                ("/v1/tools/probe.echo/call?timeoutMs=0", "{}", .badRequest, "invalid_arguments"),
                (
                    "/v1/tools/probe.echo/call", #"{"pad":""# + String(repeating: "x", count: 5000) + #""}"#,
                    .contentTooLarge, "invalid_arguments"
                ),
            ]
            for (path, body, status, code) in cases {
                let answer = try await Self.call(client, path, body)
                #expect(answer.status == status, "\(path) \(body.prefix(20))")
                #expect(answer.code == code, "\(path) \(body.prefix(20))")
            }
            let plain = try await Self.call(
                client, "/v1/tools/probe.echo/call", "{}", headers: [.contentType: "text/plain"])
            #expect(plain.status == .unsupportedMediaType)
        }
    }

    @Test func aFullQueueIs429WithRetryAfter() async throws {
        let host = try Self.host {
            $0.limits.maxConcurrentCalls = 1
            $0.limits.maxQueuedCalls = 0
        }
        defer { host.shutdown() }
        _ = try await host.call("probe.echo", arguments: [:])
        let blocker = Task { await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 30_000])) }
        try await Fixtures.waitUntil("the blocker holds the only slot") { host.load.running == 1 }
        try await Self.app(host).test(.router) { client in
            // Not `{}`: the warm-up's answer to that is cached, and a hit needs no slot.
            let answer = try await Self.call(client, "/v1/tools/probe.echo/call", #"{"n":2}"#)
            #expect(answer.status == .tooManyRequests)
            #expect(answer.code == "overloaded")
            #expect(answer.headers[.retryAfter] == "1")
        }
        blocker.cancel()
        _ = await blocker.value
    }

    /// A draining host: `/readyz` says so and a new call is 503, while `/healthz` still answers.
    @Test func aDrainingHostIs503AndNotReady() async throws {
        let host = try Self.host()
        defer { host.shutdown() }
        try await Self.app(host).test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            host.beginDrain()
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            let answer = try await Self.call(client, "/v1/tools/probe.echo/call", "{}")
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.code == "plugin_unavailable")
        }
    }
}
