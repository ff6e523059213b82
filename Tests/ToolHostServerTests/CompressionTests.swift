import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

@testable import ToolHostServer

/// Compressed answers and compressed request bodies over HTTP: the REST API and `/mcp` served in this process on
/// a real socket (HummingbirdTesting's live client, which neither asks for nor undoes a coding), with every
/// encoding checked by Python's zlib, and `curl --compressed` against the real daemon.
@Suite struct CompressionTests {
    private static func host() throws -> ToolHost {
        var configuration = ToolHost.Configuration(
            pluginsDirectory: try ServerFixtures.probePlugins(),
            libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configuration.cache.enabled = false
        return ToolHost(configuration: configuration)
    }

    private static func app(_ host: ToolHost, maxBodyBytes: Int = 1 << 20) -> some ApplicationProtocol {
        var configuration = RESTServer.Configuration()
        configuration.port = 0
        configuration.maxBodyBytes = maxBodyBytes
        return RESTServer(host: host, configuration: configuration, logger: Logger(label: "test"))
            .makeService { _ in }
    }

    /// `probe.big`'s answer: a JSON string of `bytes` x's.
    private static func bigAnswer(_ bytes: Int) -> [UInt8] {
        Array(("\"" + String(repeating: "x", count: bytes) + "\"").utf8)
    }

    private struct Answer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: [UInt8]
    }

    private static func post(
        _ client: some TestClientProtocol, _ path: String, _ body: [UInt8], headers: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await client.execute(
            uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body)
        ) { response in
            Answer(status: response.status, headers: response.headers, body: Array(response.body.readableBytesView))
        }
    }

    // MARK: negotiation

    @Test(arguments: [
        // (Accept-Encoding, answer size, expected coding)
        ("gzip", 2000, "gzip"),
        ("deflate", 2000, "deflate"),
        ("x-gzip", 2000, "gzip"),
        ("gzip, deflate", 2000, "gzip"),
        ("deflate, gzip", 2000, "gzip"),
        ("gzip;q=0.5, deflate", 2000, "deflate"),
        ("gzip;q=0, deflate;q=0", 2000, "none"),
        ("GZIP ; Q=0.8", 2000, "gzip"),
        ("*", 2000, "gzip"),
        ("*;q=0.3, gzip;q=0", 2000, "deflate"),
        ("br, zstd", 2000, "none"),
        ("gzip", 100, "none"),
        ("identity", 2000, "none"),
        ("identity;q=1, gzip;q=0.5", 2000, "none"),
        ("identity;q=0.5, gzip", 2000, "gzip"),
        ("identity;q=0, gzip", 100, "gzip"),
        ("*;q=0, deflate", 100, "deflate"),
        ("gzip;q=nonsense", 2000, "none"),
        ("", 2000, "none"),
    ])
    func acceptEncodingPicksWhatTheClientRanksHighest(header: String, size: Int, expected: String) {
        let coding = ContentCoding.negotiate(
            acceptEncoding: header.isEmpty ? [] : [header], size: size, threshold: 1024)
        #expect((coding?.rawValue ?? "none") == expected, "Accept-Encoding: \(header), \(size) bytes")
    }

    // MARK: answers

    /// A 20 KB JSON answer arrives gzip- or deflate-encoded as the client ranks them, and decodes (by another zlib)
    /// to the very answer; without `Accept-Encoding`, under the threshold, or with gzip refused, it arrives as it
    /// is. Every JSON answer says `Vary: Accept-Encoding`.
    @Test func aLargeJSONAnswerIsEncodedAsTheClientAsks() async throws {
        let host = try Self.host()
        defer { host.shutdown() }
        let expected = Self.bigAnswer(20_000)
        try await Self.app(host).test(.live) { client in
            let big = Array(#"{"bytes":20000}"#.utf8)
            let gzip = try await Self.post(client, "/v1/tools/probe.big/call", big, headers: [.acceptEncoding: "gzip"])
            #expect(gzip.status == .ok)
            #expect(gzip.headers[.contentEncoding] == "gzip")
            #expect(gzip.headers[.vary] == "Accept-Encoding")
            #expect(gzip.headers[.contentLength] == "\(gzip.body.count)")
            #expect(gzip.body.count * 5 < expected.count, "\(gzip.body.count) bytes")
            #expect(try await SystemZlib.decompress(gzip.body, .gzip) == expected)

            let deflate = try await Self.post(
                client, "/v1/tools/probe.big/call", big, headers: [.acceptEncoding: "gzip;q=0.5, deflate"])
            #expect(deflate.headers[.contentEncoding] == "deflate")
            #expect(try await SystemZlib.decompress(deflate.body, .zlib) == expected)

            for refused in ["", "gzip;q=0", "identity, gzip;q=0.1", "br"] {
                let headers: HTTPFields = refused.isEmpty ? [:] : [.acceptEncoding: refused]
                let plain = try await Self.post(client, "/v1/tools/probe.big/call", big, headers: headers)
                #expect(plain.headers[.contentEncoding] == nil, "Accept-Encoding: \(refused)")
                #expect(plain.headers[.vary] == "Accept-Encoding")
                #expect(plain.body == expected)
            }

            // Under the threshold: as it is, unless identity is refused.
            let small = Array(#"{"a":1}"#.utf8)
            let short = try await Self.post(
                client, "/v1/tools/probe.echo/call", small, headers: [.acceptEncoding: "gzip"])
            #expect(short.headers[.contentEncoding] == nil)
            #expect(short.body == small)
            let forced = try await Self.post(
                client, "/v1/tools/probe.echo/call", small, headers: [.acceptEncoding: "identity;q=0, gzip"])
            #expect(forced.headers[.contentEncoding] == "gzip")
            #expect(try await SystemZlib.decompress(forced.body, .gzip) == small)

            // Errors are JSON answers like the rest.
            let error = try await Self.post(
                client, "/v1/tools/probe.nope/call", [], headers: [.acceptEncoding: "identity;q=0, gzip"])
            #expect(error.status == .notFound)
            let decoded = try JSONValue.parse(try await SystemZlib.decompress(error.body, .gzip))
            #expect(decoded["error"]?["code"] == "not_found")
        }
    }

    /// `/mcp` answers are compressed by the same rule: a `tools/call` whose answer is large arrives gzip-encoded and
    /// decodes to the JSON-RPC response.
    @Test func mcpAnswersAreCompressedToo() async throws {
        let host = try Self.host()
        defer { host.shutdown() }
        try await Self.app(host).test(.live) { client in
            let accept: HTTPFields = [.accept: "application/json, text/event-stream", .acceptEncoding: "gzip"]
            let initialize = try await Self.post(
                client, "/mcp", MCPHTTPTests.initializeMessage().serialized(), headers: accept)
            #expect(initialize.status == .ok)
            let session = try #require(initialize.headers[MCPHTTPTransport.sessionHeader])
            var headers = accept
            headers[MCPHTTPTransport.sessionHeader] = session
            let call = MCPHTTPTests.call(2, "tools/call", ["name": "probe.big", "arguments": ["bytes": 8000]])
            let answer = try await Self.post(client, "/mcp", call.serialized(), headers: headers)
            #expect(answer.status == .ok)
            #expect(answer.headers[.contentEncoding] == "gzip")
            #expect(answer.headers[.vary] == "Accept-Encoding")
            let response = try JSONValue.parse(try await SystemZlib.decompress(answer.body, .gzip))
            #expect(response["id"] == 2)
            let text = response["result"]?["content"]?[0]?["text"]?.stringValue
            #expect(text.map { Array($0.utf8) } == Self.bigAnswer(8000))
        }
    }

    // MARK: request bodies

    /// A gzip or deflate request body is decoded before the route reads it; the body limit applies to the decoded
    /// bytes (a bomb of 10 MB of zeros in 10 KB is 413, for REST and for `/mcp`); a coding the server does not
    /// speak is 415 and data that is not what its header says (or is cut short) is 400.
    @Test func aCompressedRequestBodyIsDecodedWithinTheBodyLimit() async throws {
        let host = try Self.host()
        defer { host.shutdown() }
        let limit = 64 * 1024
        let arguments = Array(#"{"text":"hello, compressed world"}"#.utf8)
        let bomb = try await SystemZlib.compress([UInt8](repeating: 0x20, count: 10 << 20), .gzip)
        #expect(bomb.count < limit)
        try await Self.app(host, maxBodyBytes: limit).test(.live) { client in
            for (name, format) in [("gzip", SystemZlib.Format.gzip), ("deflate", .zlib), ("x-gzip", .gzip)] {
                let body = try await SystemZlib.compress(arguments, format)
                let answer = try await Self.post(
                    client, "/v1/tools/probe.echo/call", body, headers: [.contentEncoding: name])
                #expect(answer.status == .ok, "\(name): \(String(decoding: answer.body, as: UTF8.self))")
                #expect(answer.body == arguments, "\(name)")
            }
            let identity = try await Self.post(
                client, "/v1/tools/probe.echo/call", arguments, headers: [.contentEncoding: "identity"])
            #expect(identity.body == arguments)

            let bombed = try await Self.post(
                client, "/v1/tools/probe.echo/call", bomb, headers: [.contentEncoding: "gzip"])
            #expect(bombed.status == .contentTooLarge)
            let message = try JSONValue.parse(bombed.body)["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("over \(limit) bytes once decompressed"), "\(message)")

            // Just under the limit once decoded is accepted: the limit is the decoded size, not more and not less.
            let padded = Array(("{\"pad\":\"" + String(repeating: "y", count: limit - 20) + "\"}").utf8)
            let fits = try await Self.post(
                client, "/v1/tools/probe.echo/call", try await SystemZlib.compress(padded, .gzip),
                headers: [.contentEncoding: "gzip"])
            #expect(fits.status == .ok)
            #expect(fits.body == padded)

            let unsupported = try await Self.post(
                client, "/v1/tools/probe.echo/call", arguments, headers: [.contentEncoding: "br"])
            #expect(unsupported.status == .unsupportedMediaType)
            let unsupportedMessage = try JSONValue.parse(unsupported.body)["error"]?["message"]?.stringValue ?? ""
            #expect(unsupportedMessage.contains("'br' is not supported"))

            let gzipped = try await SystemZlib.compress(arguments, .gzip)
            for broken in [arguments, Array(gzipped.dropLast(6)), gzipped + [1, 2, 3]] {
                let answer = try await Self.post(
                    client, "/v1/tools/probe.echo/call", broken, headers: [.contentEncoding: "gzip"])
                #expect(answer.status == .badRequest, "\(String(decoding: answer.body, as: UTF8.self))")
            }

            // /mcp: the same limit, refused as a JSON-RPC error.
            let mcp = try await Self.post(
                client, "/mcp", bomb,
                headers: [.contentEncoding: "gzip", .accept: "application/json, text/event-stream"])
            #expect(mcp.status == .contentTooLarge)
            #expect(
                try JSONValue.parse(mcp.body)["error"]?["code"] == .int(MCPDispatcher.ErrorCode.invalidRequest.rawValue)
            )
        }
    }

    // MARK: the daemon, with curl

    /// `curl --compressed` against `toolhost serve`: a 1 MB answer arrives gzip-encoded, at least 5 times smaller
    /// on the wire, and curl decodes it to the answer; a body curl sends gzip-encoded is read.
    @Test func curlCompressedGetsAGzippedAnswerFromTheDaemon() async throws {
        let server = try await RESTTests.Server()
        do {
            let directory = ServerFixtures.temporaryDirectory("toolhost-curl")
            let url = "http://127.0.0.1:\(server.port)/v1/tools/probe.big/call"
            let headersFile = directory + "/headers"
            let bodyFile = directory + "/body"
            let downloaded = try await SystemZlib.run(
                "/usr/bin/curl",
                [
                    "-sS", "--compressed", "-X", "POST", "-H", "Content-Type: application/json",
                    "--data", #"{"bytes":1000000}"#, "-D", headersFile, "-o", bodyFile, "-w", "%{size_download}", url,
                ])
            let headers = try String(contentsOfFile: headersFile, encoding: .utf8).lowercased()
            #expect(headers.contains("content-encoding: gzip"), "\(headers)")
            #expect(headers.contains("vary: accept-encoding"))
            let wire = Int(String(decoding: downloaded, as: UTF8.self)) ?? -1
            #expect(wire > 0 && wire * 5 <= 1_000_000, "\(wire) bytes on the wire")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: bodyFile))) == Self.bigAnswer(1_000_000))

            let gzipped = directory + "/arguments.gz"
            try Data(try await SystemZlib.compress(Array(#"{"sent":"gzipped"}"#.utf8), .gzip))
                .write(to: URL(fileURLWithPath: gzipped))
            let echoed = try await SystemZlib.run(
                "/usr/bin/curl",
                [
                    "-sS", "--compressed", "-X", "POST", "-H", "Content-Type: application/json", "-H",
                    "Content-Encoding: gzip", "--data-binary", "@" + gzipped,
                    "http://127.0.0.1:\(server.port)/v1/tools/probe.echo/call",
                ])
            #expect(try JSONValue.parse(echoed) == ["sent": "gzipped"])
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }
}
