import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHostServer

/// `GET /v1/insights` and `toolhost insights` against a real daemon under real calls: a slow tool, a tool that
/// fails, a worker that crashes, cache hits, and the memory the sampler saw.
@Suite struct InsightsTests {
    typealias Server = RESTTests.Server

    /// The daemon after a mix of calls: the slow probe, a failing one, a crashing worker and a cache hit.
    static func busyServer(_ extra: [String] = []) async throws -> Server {
        let server = try await Server(
            ["--memory-sample-seconds", "0.2"] + extra, plugins: try ServerFixtures.mixedPlugins())
        do {
            let headers = extra.contains("--token-file") ? ["Authorization": "Bearer insight-token"] : [:]
            func call(_ tool: String, _ body: String) async throws -> Int {
                try await server.request("POST", "/v1/tools/\(tool)/call", body: body, headers: headers).status
            }
            // The sleep first: the probe's load is then in its time, never in the fast echo's, however slow the
            // machine.
            #expect(try await call("probe.sleep", #"{"ms":300}"#) == 200)
            #expect(try await call("probe.echo", #"{"a":1}"#) == 200)
            #expect(try await call("probe.echo", #"{"a":1}"#) == 200, "a cache hit")
            #expect(try await call("probe.fail", "{}") == 422)
            #expect(try await call("faults.segfault", "{}") == 502)
            // A fresh worker for the faults plugin, alive while the sampler looks.
            #expect(try await call("faults.ok", "{}") == 200)
        } catch {
            await server.stop()
            throw error
        }
        return server
    }

    @Test func insightsShowTheSlowToolTheErrorsTheCacheAndTheMemory() async throws {
        let server = try await Self.busyServer()
        do {
            // The sampler runs every 0.2 s: wait until it has seen the faults plugin's worker.
            var insights: JSONValue?
            try await Fixtures.waitUntil("the sampler saw the faults worker") {
                insights = try await server.request("GET", "/v1/insights").body
                let workers = insights?["memory"]?["workers"]?.arrayValue ?? []
                return workers.contains { $0["plugin"] == "faults" && ($0["residentBytes"]?.intValue ?? 0) > 0 }
            }
            guard let insights else { return }
            #expect(insights["calls"]?["total"]?.intValue == 6)
            #expect(insights["calls"]?["lastMinute"]?.intValue == 6)
            // Slowest p99 first; the slow probe ahead of the fast in-process tools (a worker's start and crash on a
            // loaded machine may take longer than its 300 ms, so not necessarily first).
            let slowest = insights["slowestTools"]?.arrayValue ?? []
            let p99s = slowest.compactMap { $0["p99Ms"]?.doubleValue }
            #expect(p99s.count == 5 && p99s == p99s.sorted(by: >), "\(slowest)")
            let names = slowest.compactMap { $0["tool"]?.stringValue }
            let sleep = slowest.first { $0["tool"] == "probe.sleep" }
            #expect((sleep?["p50Ms"]?.doubleValue ?? 0) >= 290)
            #expect(
                (names.firstIndex(of: "probe.sleep") ?? .max) < (names.firstIndex(of: "probe.echo") ?? -1), "\(names)")
            #expect(insights["busiestTools"]?[0]?["tool"] == "probe.echo", "two calls, the most")
            #expect(insights["busiestPlugins"]?[0]?["plugin"] == "probe")
            #expect(insights["busiestPlugins"]?[0]?["calls"]?.intValue == 4)

            let errors = insights["errors"]
            #expect(errors?["total"]?.intValue == 2)
            #expect(errors?["lastMinute"]?.intValue == 2)
            let crashed = errors?["byCode"]?.arrayValue?.first { $0["code"] == "plugin_crashed" }
            #expect(crashed?["lastMinute"]?.intValue == 1)
            #expect(crashed?["latest"]?["tool"] == "faults.segfault")
            #expect(crashed?["latest"]?["message"]?.stringValue?.contains("died") == true)
            let failed = errors?["byTool"]?.arrayValue?.first { $0["tool"] == "probe.fail" }
            #expect(failed?["latest"]?["message"]?.stringValue?.contains("disk on fire") == true)
            #expect(failed?["latest"]?["code"] == "plugin_error")
            #expect(errors?["byPlugin"]?.arrayValue?.contains { $0["plugin"] == "faults" } == true)

            let cache = insights["cache"]
            #expect(cache?["entries"]?.intValue == 1)
            #expect(cache?["hits"]?.intValue == 1)
            #expect(cache?["misses"]?.intValue == 1)
            #expect(cache?["hitRatio"]?.doubleValue == 0.5)
            #expect((cache?["bytes"]?.intValue ?? 0) > 0)

            let memory = insights["memory"]
            #expect((memory?["residentBytes"]?.intValue ?? 0) > 1 << 20)
            #expect((memory?["peakResidentBytes"]?.intValue ?? 0) >= (memory?["residentBytes"]?.intValue ?? .max))
            #expect((memory?["window"]?["samples"]?.intValue ?? 0) >= 1)
            #expect(memory?["sampleIntervalSeconds"]?.doubleValue == 0.2)

            // The lists are cut at ?limit=, and a limit out of range is refused naming the parameter.
            let one = try await server.request("GET", "/v1/insights?limit=1")
            #expect(one.body?["slowestTools"]?.arrayValue?.count == 1)
            #expect(one.body?["errors"]?["byTool"]?.arrayValue?.count == 1)
            for bad in ["0", "1001", "ten"] {
                let refused = try await server.request("GET", "/v1/insights?limit=\(bad)")
                #expect(refused.status == 400)
                #expect(refused.body?["error"]?["message"]?.stringValue?.contains("limit must be") == true)
            }
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test func theInsightsCommandPrintsTheReportBehindTheToken() async throws {
        let tokenFile = ServerFixtures.temporaryDirectory("toolhost-token") + "/token"
        try "insight-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let server = try await Self.busyServer(["--token-file", tokenFile])
        do {
            let url = "http://127.0.0.1:\(server.port)"
            let report = try await Fixtures.run(
                ServerFixtures.binary, ["insights", "--url", url, "--token-file", tokenFile])
            #expect(report.status == 0, "\(report.stderr)")
            for expected in ["slowest tools", "probe.sleep", "plugin_crashed", "faults.segfault", "hit ratio 50.0%"] {
                #expect(report.stdout.contains(expected), "\(expected) in \(report.stdout)")
            }
            let json = try await Fixtures.run(
                ServerFixtures.binary, ["insights", "--url", url + "/", "--token-file", tokenFile, "--json"])
            #expect(json.status == 0)
            #expect(try JSONValue.parse(Array(json.stdout.utf8))["calls"]?["total"]?.intValue == 6)

            // Without the token: the daemon's refusal, and what to do about it.
            let refused = try await Fixtures.run(ServerFixtures.binary, ["insights", "--url", url])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("401") && refused.stderr.contains("--token-file"), "\(refused.stderr)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test(arguments: [
        (["--url", "https://127.0.0.1:1"], "only http:// is supported"),
        (["--url", "127.0.0.1:8080"], "is not a URL"),
        (["--url", "http://127.0.0.1:1"], "cannot connect to http://127.0.0.1:1"),
        (["--token-file", "/nonexistent/token"], "cannot read the token file"),
        (["--limit", "0"], "--limit must be in 1...1000"),
    ])
    func theInsightsCommandSaysWhatIsWrong(arguments: [String], message: String) async throws {
        let result = try await Fixtures.run(ServerFixtures.binary, ["insights"] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func theMemoryRingKeepsItsCapacityOldestFirstWithItsTrend() {
        let sampler = MemorySampler(interval: .seconds(5), capacity: 4)
        let minute: UInt64 = 60_000_000_000
        for index in 0..<10 {
            // One MiB more every minute, and a spike the peak must remember.
            let bytes = index == 2 ? 900 << 20 : (100 + index) << 20
            sampler.record(residentBytes: bytes, peakBytes: nil, workers: [], at: UInt64(index) * minute)
        }
        let snapshot = sampler.snapshot()
        #expect(snapshot.window.map(\.at) == (6..<10).map { UInt64($0) * minute }, "the last four, oldest first")
        #expect(snapshot.residentBytes == 109 << 20)
        #expect(snapshot.peakResidentBytes == 900 << 20)
        #expect(abs((snapshot.trendBytesPerMinute ?? 0) - Double(1 << 20)) < 1)
        #expect(MemorySampler.slope([.init(at: 0, residentBytes: 5)]) == nil, "one sample has no trend")
    }
}
