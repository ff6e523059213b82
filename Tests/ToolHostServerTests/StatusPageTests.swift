import Foundation
import FoundationNetworking
import Testing
import ToolHostJSON
import ToolHostTesting

/// The status page at `/`, as an operator sees it: loaded in a real headless Chromium (Debian's `chromium`, which
/// `.ci/run` installs) against a real daemon under real calls, with a crashed-into-quarantine plugin and one that
/// fails to load. The browser is driven by `Python/status_page.py` (the DevTools protocol over a pipe); it reports
/// what the page showed, the console's errors and the requests, and saves a screenshot under
/// `.build/test-artifacts/`.
@Suite struct StatusPageTests {
    typealias Server = RESTTests.Server

    /// The browser: `TOOLHOST_TEST_CHROMIUM` when set, else Debian's.
    static let chromium: String? = {
        if let given = ProcessInfo.processInfo.environment["TOOLHOST_TEST_CHROMIUM"], !given.isEmpty { return given }
        return FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") ? "/usr/bin/chromium" : nil
    }()

    static let script = Fixtures.root + "/Tests/ToolHostServerTests/Python/status_page.py"

    /// Where the screenshots go (kept after the run, for a person to look at).
    static func screenshotPath(_ name: String) throws -> String {
        let directory = Fixtures.root + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/" + name
    }

    /// A daemon over the mixed plugins with the faults plugin crashed into quarantine (5 crashes, the default
    /// policy), and a task that keeps calling a tool until it is cancelled, so the page has a rate to show.
    static func busyDaemon(_ extra: [String] = [], headers: [String: String] = [:]) async throws -> (
        Server, Task<Void, Never>
    ) {
        let server = try await Server(
            ["--memory-sample-seconds", "0.5"] + extra, plugins: try ServerFixtures.mixedPlugins())
        do {
            for _ in 0..<5 {
                let crashed = try await server.request(
                    "POST", "/v1/tools/faults.segfault/call", body: "{}", headers: headers)
                #expect(crashed.status == 502)
            }
            #expect(
                try await server.request("POST", "/v1/tools/probe.fail/call", body: "{}", headers: headers).status
                    == 422)
            // The broken plugin is loaded (and fails) on its first call.
            #expect(
                try await server.request("POST", "/v1/tools/broken.noop/call", body: "{}", headers: headers).status
                    == 503)
        } catch {
            await server.stop()
            throw error
        }
        let calls = Task {
            var n = 0
            while !Task.isCancelled {
                n += 1
                _ = try? await server.request(
                    "POST", "/v1/tools/probe.echo/call", body: #"{"n":\#(n)}"#, headers: headers)
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        return (server, calls)
    }

    /// Runs the browser against the page and parses its report.
    static func look(at port: Int, screenshot: String, token: String? = nil) async throws -> JSONValue {
        let chromium = try #require(chromium)
        var arguments = [
            script, "--chromium", chromium, "--url", "http://127.0.0.1:\(port)/", "--screenshot", screenshot,
            "--wait-text", "probe.echo", "--wait-text", "quarantined",
            "--wait-js", "parseFloat(document.getElementById('rate').textContent) > 0",
            // Two refreshes at least: the charts have lines.
            "--wait-js", "document.querySelector('#rate-chart polyline') !== null",
        ]
        if let token { arguments += ["--token", token] }
        let result = try await Fixtures.run("/usr/bin/python3", arguments)
        guard result.status == 0, let line = result.stdout.split(separator: "\n").last else {
            throw ServerFixtureError("the browser could not be driven (status \(result.status)): \(result.stderr)")
        }
        return try JSONValue.parse(String(line))
    }

    /// What every look at a busy daemon's page must show.
    static func expectTheDaemonIsShown(_ seen: JSONValue, screenshot: String) throws {
        #expect(seen["timedOut"] == false, "the page showed its data: \(seen["text"]?.stringValue ?? "")")
        let text = seen["text"]?.stringValue ?? ""
        let expectations = [
            "probe.echo", "quarantined", "faults", "plugin_crashed", "disk on fire", "broken", "failed",
            "not an ELF shared library",
        ]
        for expected in expectations {
            #expect(text.contains(expected), "\(expected) is on the page: \(text)")
        }
        #expect((Double(seen["rate"]?.stringValue ?? "") ?? 0) > 0, "a non-zero rate: \(seen["rate"] ?? .null)")
        #expect(seen["console"]?.arrayValue == [], "no console errors: \(seen["console"] ?? .null)")
        #expect(seen["exceptions"]?.arrayValue == [], "no uncaught exceptions: \(seen["exceptions"] ?? .null)")
        #expect(seen["firstDataMs"]?.doubleValue != nil, "the page marks its first data")
        let png = try #require(FileManager.default.contents(atPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "a real PNG screenshot")
    }

    @Test(.enabled(if: chromium != nil, "Chromium is not installed (.ci/run installs Debian's chromium)"))
    func thePageShowsTheDaemonInARealBrowser() async throws {
        let (server, calls) = try await Self.busyDaemon()
        do {
            let screenshot = try Self.screenshotPath("status-page.png")
            let seen = try await Self.look(at: server.port, screenshot: screenshot)
            try Self.expectTheDaemonIsShown(seen, screenshot: screenshot)
            #expect(seen["loginShown"] == false, "no token asked for when the daemon has none")
            let paths = seen["requests"]?.arrayValue?.compactMap { $0["url"]?.stringValue } ?? []
            #expect(
                paths.allSatisfy { $0.hasPrefix("http://127.0.0.1:\(server.port)/") },
                "nothing from elsewhere: \(paths)")
        } catch {
            calls.cancel()
            await server.stop()
            throw error
        }
        calls.cancel()
        await server.stop()
    }

    @Test(.enabled(if: chromium != nil, "Chromium is not installed (.ci/run installs Debian's chromium)"))
    func behindATokenThePageAsksForItAndNeverPutsItInAURL() async throws {
        let token = "status-page-token-\(UUID().uuidString.prefix(8))"
        let tokenFile = ServerFixtures.temporaryDirectory("toolhost-token") + "/token"
        try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let (server, calls) = try await Self.busyDaemon(
            ["--token-file", tokenFile], headers: ["Authorization": "Bearer " + token])
        do {
            let screenshot = try Self.screenshotPath("status-page-token.png")
            let seen = try await Self.look(at: server.port, screenshot: screenshot, token: token)
            try Self.expectTheDaemonIsShown(seen, screenshot: screenshot)
            #expect(seen["loginShown"] == true, "the page asked for the token")
            let requests = seen["requests"]?.arrayValue ?? []
            #expect(requests.allSatisfy { !($0["url"]?.stringValue ?? "").contains(token) }, "\(requests)")
            #expect(seen["url"]?.stringValue?.contains(token) == false)
            let reads = requests.filter { ($0["url"]?.stringValue ?? "").contains("/v1/") }
            #expect(!reads.isEmpty)
            #expect(reads.allSatisfy { $0["authorization"]?.stringValue == "Bearer " + token }, "\(reads)")
        } catch {
            calls.cancel()
            await server.stop()
            throw error
        }
        calls.cancel()
        await server.stop()
    }

    /// A GET's status, headers (lower-cased names) and body text.
    static func fetch(_ port: Int, _ path: String) async throws -> (
        status: Int, headers: [String: String], body: String
    ) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            headers[String(describing: name).lowercased()] = String(describing: value)
        }
        return (http.statusCode, headers, String(decoding: data, as: UTF8.self))
    }

    /// Without a browser: the assets are open (they hold no data), locked down by their headers, and the data behind
    /// them still wants the token.
    @Test func theAssetsAreOpenAndLockedDownAndTheDataIsNot() async throws {
        let tokenFile = ServerFixtures.temporaryDirectory("toolhost-token") + "/token"
        try "asset-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let server = try await Server(["--token-file", tokenFile])
        do {
            for (path, type) in [("/", "text/html"), ("/status.js", "text/javascript"), ("/status.css", "text/css")] {
                let answer = try await Self.fetch(server.port, path)
                #expect(answer.status == 200, "\(path)")
                #expect(answer.headers["content-type"]?.hasPrefix(type) == true, "\(path): \(answer.headers)")
                #expect(answer.headers["content-security-policy"]?.contains("default-src 'none'") == true)
                #expect(answer.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
                #expect(answer.headers["x-content-type-options"] == "nosniff")
                #expect(!answer.body.isEmpty)
            }
            #expect(try await Self.fetch(server.port, "/").body.contains(#"content="bearer""#), "the page knows to ask")
            #expect(try await server.request("GET", "/v1/insights").status == 401, "the data is not open")
            #expect(try await server.request("GET", "/index.html").status == 401, "only the assets are open")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }
}
