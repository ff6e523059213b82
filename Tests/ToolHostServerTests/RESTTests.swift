import Foundation
import FoundationNetworking
import Synchronization
import Testing
import ToolHostJSON

/// Runs the real `toolhost serve` on 127.0.0.1 with an ephemeral port and speaks HTTP to it.
@Suite struct RESTTests {
    /// A `toolhost serve` child; the port comes from its startup line on stderr.
    final class Server: Sendable {
        let process = Process()
        let port: Int
        private let errorText = TextBox()

        init(_ extra: [String] = [], plugins: String? = nil, environment: [String: String] = [:]) async throws {
            process.executableURL = URL(fileURLWithPath: ServerFixtures.binary)
            process.arguments =
                ["serve", "--plugins", try plugins ?? ServerFixtures.probePlugins(), "--listen", "127.0.0.1:0"] + extra
            process.environment = ProcessInfo.processInfo.environment.merging(
                ["TOOLHOST_STATE_DIR": ServerFixtures.temporaryDirectory("toolhost-state")].merging(environment) { $1 }
            ) { $1 }
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let handle = errors.fileHandleForReading
            Thread.detachNewThread { [errorText] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    errorText.append(String(decoding: chunk, as: UTF8.self))
                }
            }
            // A bound only so a daemon that never starts cannot hang the suite; a loaded machine takes seconds.
            let deadline = ContinuousClock.now + .seconds(120)
            var found: Int?
            while found == nil, ContinuousClock.now < deadline, process.isRunning {
                let text = errorText.text
                if let range = text.range(of: "listening on http://127.0.0.1:") {
                    found = Int(text[range.upperBound...].prefix { $0.isNumber })
                } else {
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            guard let found else {
                if process.isRunning { process.terminate() }
                throw ServerFixtureError("no startup line: \(errorText.text)")
            }
            port = found
        }

        var stderr: String { errorText.text }

        /// Sends SIGTERM and waits (bounded) for the exit; SIGKILL if it does not come.
        @discardableResult
        func stop() async -> Int32 {
            process.terminate()
            return await awaitExit(process)
        }

        func request(
            _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]
        ) async throws -> (status: Int, body: JSONValue?, headers: [AnyHashable: Any]) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            if let body {
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as! HTTPURLResponse
            return (http.statusCode, try? JSONValue.parse(Array(data)), http.allHeaderFields)
        }

        /// Sends a request over a plain socket, exactly as written: no `Content-Type` unless `json`, and `Host` as
        /// given (URLSession sets both itself).
        /// - Returns: the response's status code.
        func rawStatus(
            _ method: String, _ path: String, body: String = "", host: String? = nil, json: Bool = false
        ) async throws -> Int {
            let connection = try SSEConnection(
                port: port, method: method, path: path,
                headers: json ? ["Content-Type": "application/json", "Connection": "close"] : ["Connection": "close"],
                body: Array(body.utf8), host: host)
            try await connection.wait(for: "the status line") { $0.status != nil }
            return connection.status ?? 0
        }
    }

    @Test func endpointsAndErrorStatusCodes() async throws {
        let server = try await Server(["--max-body-bytes", "1000"])
        do {
            #expect(try await server.request("GET", "/healthz").status == 200)
            #expect(try await server.request("GET", "/readyz").status == 200)
            let tools = try await server.request("GET", "/v1/tools")
            #expect(tools.status == 200)
            #expect(tools.body?["tools"]?.arrayValue?.contains { $0["name"] == "probe.echo" } == true)
            let plugins = try await server.request("GET", "/v1/plugins")
            #expect(plugins.body?["plugins"]?[0]?["name"] == "probe")

            let ok = try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"a":1}"#)
            #expect(ok.status == 200)
            #expect(ok.body == ["a": 1])
            let missing = try await server.request("POST", "/v1/tools/probe.nope/call", body: "{}")
            #expect(missing.status == 404)
            #expect(missing.body?["error"]?["code"] == "not_found")
            let failed = try await server.request("POST", "/v1/tools/probe.fail/call", body: "{}")
            #expect(failed.status == 422)
            #expect(failed.body?["error"]?["code"] == "plugin_error")
            let invalid = try await server.request("POST", "/v1/tools/probe.count/call", body: #"{"n":"x"}"#)
            #expect(invalid.status == 400)
            #expect(invalid.body?["error"]?["code"] == "invalid_arguments")
            #expect(invalid.body?["error"]?["violations"]?[0]?["path"] == "/n")
            let malformed = try await server.request("POST", "/v1/tools/probe.echo/call", body: "{nope")
            #expect(malformed.status == 400)
            #expect(malformed.body?["error"]?["message"]?.stringValue?.contains("not valid JSON") == true)
            let notObject = try await server.request("POST", "/v1/tools/probe.echo/call", body: "[1]")
            #expect(notObject.status == 400)
            let tooBig = try await server.request(
                "POST", "/v1/tools/probe.echo/call", body: #"{"x":""# + String(repeating: "a", count: 2000) + #""}"#)
            #expect(tooBig.status == 413)
            let timedOut = try await server.request(
                "POST", "/v1/tools/probe.sleep/call?timeoutMs=50", body: #"{"ms":5000}"#)
            #expect(timedOut.status == 504)
            let timedOutByHeader = try await server.request(
                "POST", "/v1/tools/probe.sleep/call", body: #"{"ms":5000}"#, headers: ["X-Toolhost-Timeout-Ms": "50"])
            #expect(timedOutByHeader.status == 504)

            let batch = try await server.request(
                "POST", "/v1/batch",
                body: #"[{"tool":"probe.echo","arguments":{"b":2}},{"tool":"probe.nope"}]"#)
            #expect(batch.status == 200)
            #expect(batch.body?["results"]?[0]?["result"] == ["b": 2])
            #expect(batch.body?["results"]?[1]?["error"]?["code"] == "not_found")

            let cleared = try await server.request("DELETE", "/v1/cache?plugin=probe")
            #expect(cleared.status == 200)
            #expect(cleared.body?["removed"]?.intValue != nil)
        } catch {
            await server.stop()
            throw error
        }
        // SIGTERM: a graceful stop, exit 0.
        #expect(await server.stop() == 0)
    }

    /// Numbers a request gives are range-checked where they enter: a timeout that once overflowed the deadline
    /// arithmetic and killed the daemon (SIGILL) is a 400 naming the field and its range, and the daemon serves on.
    @Test(arguments: [
        ("/v1/tools/probe.echo/call?timeoutMs=9223372036855", [:], "query parameter timeoutMs"),
        ("/v1/tools/probe.echo/call", ["X-Toolhost-Timeout-Ms": "9223372036855"], "header X-Toolhost-Timeout-Ms"),
        ("/v1/tools/probe.echo/call?timeoutMs=0", [:], "query parameter timeoutMs"),
        ("/v1/tools/probe.echo/call?timeoutMs=soon", [:], "query parameter timeoutMs"),
        ("/v1/tools/probe.echo/call?priority=100000", [:], "query parameter priority"),
        ("/v1/tools/probe.echo/call", ["X-Toolhost-Priority": "-1001"], "header X-Toolhost-Priority"),
    ])
    func outOfRangeNumbersAreRefusedAndTheDaemonLives(path: String, headers: [String: String], field: String)
        async throws
    {
        let server = try await Server()
        do {
            let refused = try await server.request("POST", path, body: "{}", headers: headers)
            #expect(refused.status == 400)
            #expect(refused.body?["error"]?["code"] == "invalid_arguments")
            let message = refused.body?["error"]?["message"]?.stringValue ?? ""
            #expect(message.hasPrefix(field + " must be an integer in "), "\(message)")
            #expect(try await server.request("GET", "/healthz").status == 200)
            #expect(try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"a":1}"#).body == ["a": 1])
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test func aBatchItemOutOfRangeIsRefusedNamingItsIndexAndField() async throws {
        let server = try await Server()
        do {
            for (item, expected) in [
                (
                    #"{"tool":"probe.echo","timeoutMs":9223372036855}"#,
                    "call 1: timeoutMs must be an integer in 1...86400000"
                ),
                (#"{"tool":"probe.echo","priority":1e9}"#, "call 1: priority must be an integer in -1000...1000"),
                (#"{"tool":"probe.echo","timeout":5}"#, "call 1: unknown field \"timeout\""),
            ] {
                let body = #"[{"tool":"probe.echo"},"# + item + "]"
                let refused = try await server.request("POST", "/v1/batch", body: body)
                #expect(refused.status == 400)
                #expect(refused.body?["error"]?["message"]?.stringValue?.hasPrefix(expected) == true, "\(item)")
            }
            // The undocumented {"calls": [...]} wrapper is gone: one shape, an array.
            #expect(try await server.request("POST", "/v1/batch", body: #"{"calls":[]}"#).status == 400)
            #expect(try await server.request("GET", "/healthz").status == 200)
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    /// A web page must not be able to use the daemon through a visitor's browser: not by a "simple" cross-origin
    /// post (no CORS preflight), not from a foreign origin, not through DNS rebinding, on any endpoint.
    @Test func browserPagesAreRefusedOnEveryEndpoint() async throws {
        let server = try await Server()
        do {
            let call = "/v1/tools/probe.echo/call"
            // Simple requests: text/plain, a form, or no Content-Type at all.
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let simple = try await server.request("POST", call, body: "{}", headers: ["Content-Type": contentType])
                #expect(simple.status == 415, "\(contentType)")
            }
            #expect(try await server.rawStatus("POST", call, body: "{}") == 415)
            #expect(try await server.rawStatus("POST", "/v1/batch", body: "[]") == 415)
            #expect(try await server.rawStatus("POST", "/mcp", body: "{}") == 415)
            // A foreign origin, on every endpoint.
            for (method, path) in [
                ("POST", call), ("POST", "/v1/batch"), ("GET", "/v1/plugins"), ("GET", "/v1/tools"),
                ("DELETE", "/v1/cache"), ("GET", "/metrics"), ("GET", "/healthz"), ("POST", "/mcp"),
            ] {
                let foreign = try await server.request(
                    method, path, body: method == "POST" ? "[]" : nil, headers: ["Origin": "http://evil.example"])
                #expect(foreign.status == 403, "\(method) \(path)")
            }
            // DNS rebinding: the page's own name in Host.
            for path in ["/v1/plugins", "/healthz", "/metrics"] {
                #expect(try await server.rawStatus("GET", path, host: "evil.example:\(server.port)") == 421, "\(path)")
            }
            let rebound = try await server.rawStatus("POST", call, body: "{}", host: "evil.example", json: true)
            #expect(rebound == 421)
            // Loopback pages and names are served.
            for origin in ["http://localhost:3000", "http://127.0.0.1:\(server.port)", "http://[::1]"] {
                let local = try await server.request("POST", call, body: #"{"o":1}"#, headers: ["Origin": origin])
                #expect(local.status == 200, "\(origin)")
            }
            #expect(try await server.rawStatus("GET", "/healthz", host: "localhost:\(server.port)") == 200)
            #expect(try await server.rawStatus("POST", call, body: "{}", json: true) == 200)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func bearerTokenIsRequiredWhenConfigured() async throws {
        let tokenFile = ServerFixtures.temporaryDirectory("toolhost-token") + "/token"
        try "s3cret-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let server = try await Server(["--token-file", tokenFile])
        do {
            #expect(try await server.request("GET", "/healthz").status == 200)
            #expect(try await server.request("GET", "/v1/tools").status == 401)
            let wrong = try await server.request("GET", "/v1/tools", headers: ["Authorization": "Bearer s3cret-tokeX"])
            #expect(wrong.status == 401)
            // /metrics is behind the token too.
            #expect(try await server.request("GET", "/metrics").status == 401)
            let text = try await server.text("/metrics", headers: ["Authorization": "Bearer s3cret-token"])
            #expect(text.contains("process_resident_memory_bytes"))
            let right = try await server.request("GET", "/v1/tools", headers: ["Authorization": "Bearer s3cret-token"])
            #expect(right.status == 200)
            // The scheme is case-insensitive (RFC 7235), the token is not; another scheme or no token is refused.
            for value in ["bearer s3cret-token", "BEARER s3cret-token", "bEaReR  s3cret-token"] {
                #expect(try await server.request("GET", "/v1/tools", headers: ["Authorization": value]).status == 200)
            }
            for value in ["bearer S3CRET-TOKEN", "Basic s3cret-token", "Bearers3cret-token", "bearer", "bearer  "] {
                let refused = try await server.request("GET", "/v1/tools", headers: ["Authorization": value])
                #expect(refused.status == 401, "\(value)")
            }
            // A wrong method is refused by the token first: the routes are not shown to a caller without it.
            #expect(try await server.request("PUT", "/v1/tools", body: "{}").status == 401)
            let put = try await server.request(
                "PUT", "/v1/tools", body: "{}", headers: ["Authorization": "Bearer s3cret-token"])
            #expect(put.status == 405)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// A method a path does not serve is 405 naming the ones it does (not 404, which says there is no such path);
    /// `HEAD` is served wherever `GET` is.
    @Test func aWrongMethodIs405WithAllowAndHeadIsServedWhereGetIs() async throws {
        let server = try await Server()
        do {
            for (method, path, allow) in [
                ("PUT", "/v1/tools", "GET, HEAD"), ("GET", "/v1/tools/probe.echo/call", "POST"),
                ("DELETE", "/healthz", "GET, HEAD"), ("POST", "/v1/cache", "GET, DELETE, HEAD"),
                ("GET", "/v1/batch", "POST"),
                ("PATCH", "/mcp", "POST, GET, DELETE, HEAD"),
            ] {
                let refused = try await server.request(method, path, body: method == "POST" ? "{}" : nil)
                #expect(refused.status == 405, "\(method) \(path)")
                #expect(refused.headers["Allow"] as? String == allow, "\(method) \(path)")
                #expect(refused.body?["error"]?["code"] == "method_not_allowed", "\(method) \(path)")
            }
            let unknown = try await server.request("GET", "/v1/nope")
            #expect(unknown.status == 404)
            #expect(unknown.body?["error"]?["code"] == "not_found")
            for path in ["/healthz", "/readyz", "/v1/tools", "/metrics"] {
                let head = try await server.request("HEAD", path)
                #expect(head.status == 200, "HEAD \(path)")
                #expect(head.body == nil, "HEAD \(path)")
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// A tool name in the path is percent-decoded before it is looked up (`probe%2Eecho` is `probe.echo`).
    @Test func aPercentEncodedToolNameIsDecoded() async throws {
        let server = try await Server()
        do {
            for path in ["/v1/tools/probe%2Eecho/call", "/v1/tools/%70robe.echo/call", "/v1/tools/probe%2eecho/call"] {
                #expect(try await server.rawStatus("POST", path, body: #"{"a":1}"#, json: true) == 200, "\(path)")
            }
            #expect(try await server.rawStatus("POST", "/v1/tools/probe%2Enope/call", body: "{}", json: true) == 404)
            #expect(try await server.rawStatus("POST", "/v1/tools/probe%zzecho/call", body: "{}", json: true) == 400)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func nonLoopbackWithoutTokenIsRefused() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerFixtures.binary)
        process.arguments = ["serve", "--plugins", try ServerFixtures.probePlugins(), "--listen", "0.0.0.0:0"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        #expect(process.terminationStatus == 64)
    }
}

/// Text appended from one thread and read from others.
final class TextBox: Sendable {
    private let storage = Mutex("")
    func append(_ more: String) { storage.withLock { $0 += more } }
    var text: String { storage.withLock { $0 } }
}
