import Foundation
import FoundationNetworking
import Testing
import ToolHostJSON
import ToolHostTesting

/// `toolhost mcp --metrics-listen`: a stdio daemon scraped over a listener of its own, with every series the README
/// documents, after real calls (retries, cache evictions, a worker process).
@Suite struct MetricsListenerTests {
    /// The probe (flaky is idempotent, so retried; echo cached) and the faults plugin in process isolation.
    static func plugins() async throws -> String {
        let plugins = ServerFixtures.temporaryDirectory("toolhost-metrics-plugins")
        try Fixtures.install(
            in: plugins, folder: "probe",
            manifest: Fixtures.probeManifest(toolPolicy: [
                "flaky": ["idempotent": true, "retries": ["maxAttempts": 3]], "echo": ["deterministic": true],
            ]),
            libraryFrom: try await Fixtures.compile())
        try FileManager.default.copyItem(
            atPath: try ServerFixtures.mixedPlugins() + "/faults", toPath: plugins + "/faults")
        return plugins
    }

    static func get(_ port: Int, _ path: String, method: String = "GET") async throws -> (status: Int, text: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    /// The value of a series in Prometheus text (the line `name{labels} value`), if present.
    static func value(of series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func aStdioDaemonIsScrapedWithEverySeriesTheReadmeLists() async throws {
        let child = try MCPChild(
            plugins: try await Self.plugins(),
            extraArguments: [
                "--metrics-listen", "127.0.0.1:0", "--memory-sample-seconds", "0.2", "--cache-max-bytes", "400",
            ])
        do {
            var port: Int?
            try await Fixtures.waitUntil("the metrics listener's startup line") {
                let text = child.stderr
                if let range = text.range(of: "metrics listening on http://127.0.0.1:") {
                    port = Int(text[range.upperBound...].prefix { $0.isNumber })
                }
                return port != nil
            }
            guard let port else { throw ServerFixtureError("no metrics port: \(child.stderr)") }
            _ = try await child.call(
                "initialize",
                [
                    "protocolVersion": "2025-06-18", "capabilities": [:],
                    "clientInfo": ["name": "tests", "version": "1"],
                ])
            try child.send(["jsonrpc": "2.0", "method": "notifications/initialized"])
            func call(_ tool: String, _ arguments: JSONValue) async throws -> JSONValue {
                try await child.call("tools/call", ["name": .string(tool), "arguments": arguments])
            }
            // Two transient failures, then a success: two retries.
            let flaky = try await call("probe.flaky", ["key": "metrics", "failures": 2])
            #expect(flaky["result"]?["isError"] != true, "\(flaky)")
            // Two results of ~120 bytes each in a 400-byte cache: the second evicts the first.
            let padding = String(repeating: "x", count: 100)
            _ = try await call("probe.echo", ["a": .string(padding)])
            _ = try await call("probe.echo", ["b": .string(padding)])
            _ = try await call("faults.ok", [:])

            var text = ""
            try await Fixtures.waitUntil("the sampler saw the faults worker") {
                text = try await Self.get(port, "/metrics").text
                return (Self.value(of: #"toolhost_worker_resident_memory_bytes{plugin="faults"}"#, in: text) ?? 0) > 0
            }
            #expect(Self.value(of: #"toolhost_workers{plugin="faults"}"#, in: text) == 1)
            #expect(Self.value(of: #"toolhost_call_retries_total{plugin="probe",tool="probe.flaky"}"#, in: text) == 2)
            #expect(Self.value(of: "toolhost_cache_entries", in: text) == 1)
            #expect((Self.value(of: "toolhost_cache_bytes", in: text) ?? 0) > 160)
            #expect(Self.value(of: "toolhost_cache_evictions_total", in: text) == 1)
            let resident = Self.value(of: "process_resident_memory_bytes", in: text) ?? 0
            #expect(resident > 1_000_000)
            #expect((Self.value(of: "toolhost_resident_memory_peak_bytes", in: text) ?? 0) >= resident)
            #expect(
                Self.value(of: #"toolhost_calls_total{plugin="probe",tool="probe.echo",outcome="success"}"#, in: text)
                    == 2)

            // Every series the daemon exports is in the README's metrics table.
            let readme = try String(contentsOfFile: Fixtures.root + "/README.md", encoding: .utf8)
            let table = readme.components(separatedBy: "**Metrics**").dropFirst().first ?? ""
            let names = Set(
                text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
                    line.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
                }.map { name in
                    ["_bucket", "_sum", "_count"].reduce(name) { name, suffix in
                        name.hasSuffix(suffix) && name.hasPrefix("toolhost_call_duration")
                            ? String(name.dropLast(suffix.count)) : name
                    }
                })
            #expect(names.count > 15)
            for name in names.sorted() {
                #expect(table.contains("`\(name)"), "the README's metrics table lists \(name)")
            }

            // The listener serves /metrics alone.
            #expect(try await Self.get(port, "/v1/tools").status == 404)
            #expect(try await Self.get(port, "/metrics", method: "DELETE").status == 405)
        } catch {
            await child.stop()
            throw error
        }
        #expect(await child.stop() == 0)
    }

    @Test func aMetricsListenerBeyondLoopbackNeedsAToken() async throws {
        let refused = try await Fixtures.run(
            ServerFixtures.binary,
            ["mcp", "--plugins", try ServerFixtures.probePlugins(), "--metrics-listen", "0.0.0.0:0"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("metricsListen 0.0.0.0:0 is not a loopback address"), "\(refused.stderr)")
        let malformed = try await Fixtures.run(
            ServerFixtures.binary, ["mcp", "--plugins", try ServerFixtures.probePlugins(), "--metrics-listen", "9464"])
        #expect(malformed.status == 64)
        #expect(malformed.stderr.contains("'--metrics-listen' must be HOST:PORT"), "\(malformed.stderr)")
    }
}
