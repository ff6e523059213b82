import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

/// The cache tiers as an operator sees them: the real `toolhost serve` restarted on its state directory, `GET` and
/// `DELETE /v1/cache`, `/metrics`, and `toolhost cache stats|clear --url` speaking to it with a token.
@Suite struct CacheTierTests {
    typealias Server = RESTTests.Server

    @Test func aRestartedDaemonAnswersFromItsFileAndReportsAndClearsBothTiers() async throws {
        let state = ServerFixtures.temporaryDirectory("toolhost-state")
        // A generous lookup budget: this test is about what the file holds, not about its speed on a busy machine
        // (a lookup past the budget is a miss; the library's tests cover that).
        let environment = ["TOOLHOST_STATE_DIR": state, "TOOLHOST_CACHE_L2_BUDGET_US": "5000000"]
        let first = try await Server(environment: environment)
        do {
            let call = try await first.request("POST", "/v1/tools/probe.echo/call", body: #"{"a":1}"#)
            #expect(call.status == 200 && call.headers["X-Toolhost-Cached"] as? String == "false")
        } catch {
            await first.stop()
            throw error
        }
        // A graceful stop applies the queued writes.
        #expect(await first.stop() == 0)

        let tokenFile = ServerFixtures.temporaryDirectory("toolhost-token") + "/token"
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let auth = ["Authorization": "Bearer s3cret"]
        let second = try await Server(["--token-file", tokenFile], environment: environment)
        do {
            let again = try await second.request(
                "POST", "/v1/tools/probe.echo/call", body: #"{"a":1}"#, headers: auth)
            #expect(again.status == 200)
            #expect(again.headers["X-Toolhost-Cached"] as? String == "true", "the first call after a restart")
            #expect(again.body == ["a": 1])

            let tiers = try #require(try await second.request("GET", "/v1/cache", headers: auth).body?["tiers"])
            #expect(tiers[0]?["tier"] == "l1" && tiers[0]?["entries"] == 1 && tiers[0]?["misses"] == 1)
            #expect(tiers[1]?["tier"] == "l2" && tiers[1]?["state"] == "ready")
            #expect(tiers[1]?["hits"] == 1 && tiers[1]?["entries"] == 1 && tiers[1]?["errors"] == 0)
            #expect(tiers[1]?["path"]?.stringValue == state + "/cache.sqlite")

            let metrics = try await second.text("/metrics", headers: auth)
            for line in [
                #"toolhost_cache_tier_hits_total{tier="l2"} 1"#, #"toolhost_cache_tier_misses_total{tier="l1"} 1"#,
                #"toolhost_cache_tier_entries{tier="l2"} 1"#, #"toolhost_cache_tier_up{tier="l2"} 1"#,
                #"toolhost_cache_tier_errors_total{tier="l2"} 0"#,
            ] {
                #expect(metrics.contains(line), "\(line)")
            }

            let url = "http://127.0.0.1:\(second.port)"
            let refused = try await Fixtures.run(Fixtures.binary, ["cache", "stats", "--url", url])
            #expect(refused.status == 1, "no token")
            #expect(refused.stderr.contains("401"))
            let stats = try await Fixtures.run(
                Fixtures.binary, ["cache", "stats", "--url", url, "--token-file", tokenFile])
            #expect(stats.status == 0)
            #expect(try JSONValue.parse(stats.stdout)["tiers"]?[1]?["hits"] == 1)
            let cleared = try await Fixtures.run(
                Fixtures.binary, ["cache", "clear", "--url", url, "--tool", "probe.echo"],
                environment: ["TOOLHOST_TOKEN_FILE": tokenFile])
            #expect(cleared.status == 0)
            #expect(try JSONValue.parse(cleared.stdout) == ["removed": 2, "l1": 1, "l2": 1])

            let after = try await second.request("POST", "/v1/tools/probe.echo/call", body: #"{"a":1}"#, headers: auth)
            #expect(after.headers["X-Toolhost-Cached"] as? String == "false", "cleared from both tiers")
        } catch {
            await second.stop()
            throw error
        }
        #expect(await second.stop() == 0)
    }
}
