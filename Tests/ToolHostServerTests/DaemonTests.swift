import Foundation
import FoundationNetworking
import Testing
import ToolHostJSON
import ToolHostTesting

/// The daemon as an operator runs it: every error status, /metrics, the config file and its precedence,
/// per-plugin caps, and the drain on SIGTERM. Each test runs the real `toolhost serve` and stops it.
@Suite struct DaemonTests {
    typealias Server = RESTTests.Server

    /// Runs `toolhost serve` to its exit (for settings it must refuse).
    static func runToExit(_ arguments: [String], environment: [String: String] = [:]) async throws -> (
        status: Int32, stderr: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerFixtures.binary)
        process.arguments = ["serve", "--listen", "127.0.0.1:0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let status = await awaitExit(process)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (status, text)
    }

    static func writeConfig(_ text: String) throws -> String {
        let path = ServerFixtures.temporaryDirectory("toolhost-config") + "/toolhost.json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aCrashedWorkerIs502AndAnUnloadablePlugin503() async throws {
        let server = try await Server(plugins: try ServerFixtures.mixedPlugins())
        do {
            // 404, 400, 413, 422 and 504 are checked in RESTTests; here the kinds that need a crashing worker and
            // a plugin that cannot load.
            let crashed = try await server.request("POST", "/v1/tools/faults.segfault/call", body: "{}")
            #expect(crashed.status == 502)
            #expect(crashed.body?["error"]?["code"] == "plugin_crashed")
            // The host survived its worker's crash.
            #expect(try await server.request("POST", "/v1/tools/faults.ok/call", body: "{}").status == 200)
            let unloadable = try await server.request("POST", "/v1/tools/broken.noop/call", body: "{}")
            #expect(unloadable.status == 503)
            #expect(unloadable.body?["error"]?["code"] == "plugin_unavailable")
            let plugins = try await server.request("GET", "/v1/plugins")
            let broken = plugins.body?["plugins"]?.arrayValue?.first { $0["name"] == "broken" }
            #expect(broken?["state"] == "failed")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test func aQuarantinedPluginIs503() async throws {
        let server = try await Server(plugins: try ServerFixtures.mixedPlugins())
        do {
            // The default policy: 5 crashes within 60 s quarantine the plugin.
            for _ in 0..<5 {
                #expect(try await server.request("POST", "/v1/tools/faults.segfault/call", body: "{}").status == 502)
            }
            let refused = try await server.request("POST", "/v1/tools/faults.ok/call", body: "{}")
            #expect(refused.status == 503)
            #expect(refused.body?["error"]?["message"]?.stringValue?.contains("quarantined") == true)
            #expect(try await server.text("/metrics").contains("toolhost_plugins_quarantined 1.0"))
            // Other plugins are not affected.
            #expect(try await server.request("POST", "/v1/tools/probe.echo/call", body: "{}").status == 200)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func aFullQueueIs429WithRetryAfter() async throws {
        let server = try await Server(["--max-concurrent-calls", "1", "--max-queued-calls", "0"])
        let gate = Gate()
        defer { gate.open() }
        do {
            // The slow call retries while one of the probes below holds the slot (it would be refused too); once
            // admitted it holds the slot until the gate opens.
            let slow = Task {
                var status = 429
                while status == 429 {
                    status = try await server.request(
                        "POST", "/v1/tools/probe.sleep/call", body: #"{"gate":"\#(gate.path)"}"#
                    ).status
                }
                return status
            }
            // Once the slow call holds the only slot (and the queue holds none), the next call is refused at once.
            // (Not probe.echo: it is deterministic here, and a cache hit never waits for a slot.)
            var response = try await server.request("POST", "/v1/tools/probe.sleep/call", body: #"{"ms":0}"#)
            let deadline = ContinuousClock.now + .seconds(60)
            while response.status != 429, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
                response = try await server.request("POST", "/v1/tools/probe.sleep/call", body: #"{"ms":0}"#)
            }
            #expect(response.status == 429)
            #expect(response.body?["error"]?["code"] == "overloaded")
            #expect(response.headers["Retry-After"] as? String == "1")
            gate.open()
            #expect(try await slow.value == 200)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func metricsHaveTheSeriesAfterCalls() async throws {
        let server = try await Server(plugins: try ServerFixtures.mixedPlugins())
        do {
            #expect(try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"a":1}"#).status == 200)
            #expect(try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"a":1}"#).status == 200)
            #expect(try await server.request("POST", "/v1/tools/probe.fail/call", body: "{}").status == 422)
            #expect(
                try await server.request("POST", "/v1/tools/probe.sleep/call?timeoutMs=20", body: #"{"ms":2000}"#)
                    .status == 504)
            #expect(try await server.request("POST", "/v1/tools/broken.noop/call", body: "{}").status == 503)
            let text = try await server.text("/metrics")
            let expected = [
                #"toolhost_calls_total{plugin="probe",tool="probe.echo",outcome="success"} 1"#,
                #"toolhost_calls_total{plugin="probe",tool="probe.echo",outcome="cached"} 1"#,
                #"toolhost_calls_total{plugin="probe",tool="probe.fail",outcome="plugin_error"} 1"#,
                #"toolhost_calls_total{plugin="probe",tool="probe.sleep",outcome="timeout"} 1"#,
                #"toolhost_call_timeouts_total{plugin="probe",tool="probe.sleep"} 1"#,
                #"toolhost_cache_hits_total{plugin="probe",tool="probe.echo"} 1"#,
                #"toolhost_cache_misses_total{plugin="probe",tool="probe.echo"} 1"#,
                #"toolhost_call_duration_seconds_bucket{plugin="probe",tool="probe.echo",le="0.0001"}"#,
                #"toolhost_call_duration_seconds_count{plugin="probe",tool="probe.echo"} 2"#,
                #"toolhost_plugin_loads_total{plugin="probe",outcome="loaded"} 1"#,
                #"toolhost_plugin_loads_total{plugin="broken",outcome="failed"} 1"#,
                #"toolhost_plugins{state="failed"} 1"#,
                #"toolhost_plugins{state="listed"} 1"#,
                "toolhost_calls_in_flight ", "toolhost_calls_queued 0", "toolhost_tools ",
                "# TYPE toolhost_call_duration_seconds histogram",
                "# TYPE toolhost_calls_answered_awake_total counter",
            ]
            for line in expected {
                #expect(text.contains(line), "missing \(line) in:\n\(text)")
            }
            let memory = text.split(separator: "\n").first { $0.hasPrefix("process_resident_memory_bytes ") }
            let bytes = memory.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
            #expect(bytes > 1_000_000, "resident memory: \(memory ?? "missing")")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func flagsBeatEnvironmentBeatsFile() async throws {
        let config = try Self.writeConfig(#"{"maxBodyBytes": 100, "limits": {"maxQueuedCalls": 10}}"#)
        let body = #"{"x":""# + String(repeating: "a", count: 150) + #""}"#  // 158 bytes
        let big = #"{"x":""# + String(repeating: "a", count: 250) + #""}"#  // 258 bytes
        // The file alone: 100 bytes.
        let fileOnly = try await Server(["--config", config])
        let fileStatus = try await fileOnly.request("POST", "/v1/tools/probe.echo/call", body: body).status
        #expect(fileOnly.stderr.contains("config: \(config)"))
        await fileOnly.stop()
        #expect(fileStatus == 413)
        // TOOLHOST_CONFIG names the file too; the environment beats it: 200 bytes.
        let environment = try await Server(
            [], environment: ["TOOLHOST_CONFIG": config, "TOOLHOST_MAX_BODY_BYTES": "200"])
        let environmentStatuses = [
            try await environment.request("POST", "/v1/tools/probe.echo/call", body: body).status,
            try await environment.request("POST", "/v1/tools/probe.echo/call", body: big).status,
        ]
        await environment.stop()
        #expect(environmentStatuses == [200, 413])
        // The flag beats both: 300 bytes.
        let flag = try await Server(
            ["--config", config, "--max-body-bytes", "300"], environment: ["TOOLHOST_MAX_BODY_BYTES": "200"])
        let flagStatus = try await flag.request("POST", "/v1/tools/probe.echo/call", body: big).status
        await flag.stop()
        #expect(flagStatus == 200)
    }

    @Test(arguments: [
        (#"{"limits": {"maxConcurentCalls": 4}}"#, "'limits.maxConcurentCalls' is not a known key"),
        (#"{"maxBodyBytes": "1MB"}"#, "'maxBodyBytes' must be an integer"),
        (#"{"pluginOverrides": {"probe": {"timeoutMs": 1.5}}}"#, "'pluginOverrides.probe.timeoutMs' must be"),
        (#"{"pluginOverrides": {"probe": {"timeout": 10}}}"#, "'pluginOverrides.probe.timeout' is not a known key"),
        (#"{"listen": "nowhere"}"#, "'listen' must be HOST:PORT"),
        (#"{"listen": "#, "is not valid JSON"),
    ])
    func aBadConfigFileIsRefusedNamingTheKey(text: String, message: String) async throws {
        let config = try Self.writeConfig(text)
        let result = try await Self.runToExit(["--plugins", try ServerFixtures.probePlugins(), "--config", config])
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(result.stderr.contains(config))
    }

    /// At the descriptor limit `accept` fails and the accept loop spins: the connection cap must fit under the limit
    /// with room for the plugins, or the daemon does not start (exit 64, naming both numbers and the fix).
    @Test func aConnectionCapOverTheDescriptorLimitIsRefused() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // `ulimit -n` in sh sets the hard limit too: the daemon cannot raise it.
        process.arguments = [
            "-c", #"ulimit -n 300 && exec "$0" serve --plugins "$1" --listen 127.0.0.1:0 --max-connections 100"#,
            ServerFixtures.binary, try ServerFixtures.probePlugins(),
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let status = await awaitExit(process)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status == 64)
        #expect(text.contains("maxConnections 100 needs 356 descriptors"), "stderr: \(text)")
        #expect(text.contains("the limit is 300"), "stderr: \(text)")
    }

    @Test func aBadEnvironmentVariableIsRefusedNamingIt() async throws {
        let result = try await Self.runToExit(
            ["--plugins", try ServerFixtures.probePlugins()], environment: ["TOOLHOST_MAX_QUEUED_CALLS": "many"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("TOOLHOST_MAX_QUEUED_CALLS"), "stderr: \(result.stderr)")
    }

    @Test func pluginOverridesLowerTheManifestButNeverRaiseIt() async throws {
        // probe.sleep has no timeoutMs: the operator's 1.5 s wins over the 30 s default (and the call's 10 minutes).
        let config = try Self.writeConfig(
            #"{"pluginOverrides": {"probe": {"timeoutMs": 1500, "maxConcurrency": 1, "cacheTTLSeconds": 0}}}"#)
        let server = try await Server(["--config", config])
        do {
            let started = ContinuousClock.now
            let capped = try await server.request("POST", "/v1/tools/probe.sleep/call", body: #"{"ms":600000}"#)
            #expect(capped.status == 504)
            #expect(capped.body?["error"]?["message"]?.stringValue?.contains("operator") == true)
            #expect(ContinuousClock.now - started < .seconds(55), "cut at the cap, not after the 10-minute call")
            // A call's own timeout still lowers it further, never raises it.
            let raised = try await server.request(
                "POST", "/v1/tools/probe.sleep/call?timeoutMs=5000", body: #"{"ms":600000}"#)
            #expect(raised.body?["error"]?["message"]?.stringValue?.contains("1500 ms") == true)
            #expect(raised.status == 504)
            // cacheTTLSeconds 0: the deterministic echo is never cached.
            _ = try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"c":1}"#)
            let again = try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"c":1}"#)
            #expect(again.headers["X-Toolhost-Cached"] as? String == "false")
            // maxConcurrency 1: two 200 ms calls do not overlap (gauge counts the running ones).
            async let first = server.request("POST", "/v1/tools/probe.gauge/call", body: #"{"ms":200}"#).status
            async let second = server.request("POST", "/v1/tools/probe.gauge/call", body: #"{"ms":200}"#).status
            _ = try await (first, second)
            let peak = try await server.request("POST", "/v1/tools/probe.gauge_read/call", body: "{}")
            #expect(peak.body?["max"] == 1, "peak: \(String(describing: peak.body))")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func aPluginOverrideChoosesIsolation() async throws {
        let config = try Self.writeConfig(#"{"pluginOverrides": {"probe": {"isolation": "process"}}}"#)
        let server = try await Server(["--config", config])
        do {
            let plugins = try await server.request("GET", "/v1/plugins")
            #expect(plugins.body?["plugins"]?[0]?["isolation"] == "process")
            let pid = try await server.request("POST", "/v1/tools/probe.echo/call", body: #"{"a":2}"#)
            #expect(pid.status == 200)
            #expect(pid.body == ["a": 2])
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test func sigtermDrainsACallInFlightAndExitsZero() async throws {
        // The grace is far longer than the call takes on any machine: it must end, not be cut.
        let server = try await Server(["--grace-seconds", "600"])
        async let slow = server.request("POST", "/v1/tools/probe.sleep/call", body: #"{"ms":3000}"#).status
        try await server.waitForSleepToStart()
        server.process.terminate()
        #expect(try await slow == 200)
        #expect(await awaitExit(server.process) == 0)
        #expect(server.stderr.contains("shutting down"))
    }

    @Test func aCallPastTheGraceDoesNotHangShutdown() async throws {
        let server = try await Server(["--grace-seconds", "0.5"])
        let slow = Task {
            let response = try? await server.request("POST", "/v1/tools/probe.sleep/call", body: #"{"ms":600000}"#)
            return response.map { (status: $0.status, body: $0.body) }
        }
        let slowBatch = Task {
            let response = try? await server.request(
                "POST", "/v1/batch", body: #"[{"tool":"probe.sleep","arguments":{"ms":600000}}]"#)
            return response.map { (status: $0.status, body: $0.body) }
        }
        try await server.waitForSleepToStart(count: 2)
        let signalled = ContinuousClock.now
        server.process.terminate()
        let status = await awaitExit(server.process)
        #expect(ContinuousClock.now - signalled < .seconds(60), "cut at the grace, not after the 10-minute calls")
        #expect(status == 1, "stderr: \(server.stderr)")
        #expect(server.stderr.contains("calls.cancelled=2"))
        // The cut call is answered before its connection closes: 503, saying why.
        let cut = await slow.value
        #expect(cut?.status == 503)
        #expect(cut?.body?["error"]?["code"] == "plugin_unavailable")
        let batch = await slowBatch.value
        #expect(batch?.status == 200)
        #expect(batch?.body?["results"]?[0]?["error"]?["code"] == "plugin_unavailable")
        #expect(
            cut?.body?["error"]?["message"]?.stringValue?.contains("shutting down") == true,
            "\(String(describing: cut?.body))")
    }
}

extension DaemonTests {
    /// An MCP `tools/call` over HTTP cut by the drain is answered too: a JSON-RPC error saying the host is shutting
    /// down, before the connection closes.
    @Test func anMCPCallPastTheGraceIsAnsweredThatTheHostIsShuttingDown() async throws {
        let server = try await RESTTests.Server(["--grace-seconds", "0.5"])
        let session = try await MCPHTTPTests.startSession(port: server.port)
        let slow = Task {
            try? await MCPHTTPTests.request(
                port: server.port,
                MCPHTTPTests.call(7, "tools/call", ["name": "probe.sleep", "arguments": ["ms": 600_000]]),
                session: session)
        }
        try await server.waitForSleepToStart()
        server.process.terminate()
        #expect(await awaitExit(server.process) == 1, "stderr: \(server.stderr)")
        let reply = await slow.value
        #expect(reply?.status == 200)
        #expect(reply?.json?["id"] == 7)
        #expect(
            reply?.json?["error"]?["message"]?.stringValue?.contains("shutting down") == true,
            "\(String(describing: reply?.json))")
    }
}

extension RESTTests.Server {
    /// Waits (bounded) until the server's probe plugin has started a `probe.sleep` (a count that only grows, so
    /// no poll can miss it, unlike a gauge of calls in flight).
    func waitForSleepToStart(count: Int = 1, within seconds: Double = 60) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let read = try await request("POST", "/v1/tools/probe.sleep_read/call", body: "{}")
            if let started = read.body?["started"]?.intValue, started >= count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ServerFixtureError("probe.sleep never started; stderr: \(stderr)")
    }

    /// GET a text endpoint.
    func text(_ path: String, headers: [String: String] = [:]) async throws -> String {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        return String(decoding: data, as: UTF8.self)
    }
}
