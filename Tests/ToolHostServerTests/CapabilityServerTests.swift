import Foundation
import Testing
import ToolHost
import ToolHostJSON
import ToolHostServer
import ToolHostTesting

/// Calls by capability through the real binary: `toolhost serve` (REST), `toolhost mcp` (stdio) and `toolhost call`,
/// over two real plugins providing `answer`, one of which crashes its worker on `{"crash": 1}`.
/// Serialized: each test starts daemons, CLI runs and worker processes; one at a time they add one test's load to a
/// machine running the rest of the suite (under `taskset -c 0`, the MCP stdio children start beside them).
@Suite(.serialized) struct CapabilityServerTests {
    private typealias Server = RESTTests.Server

    @Test func restCallsACapabilityFailsOverAndNamesTheProvider() async throws {
        let plugins = try await CapabilityFixtures.plugins(faults: ["answer": ["weight": 10]])
        let server = try await Server(plugins: plugins)
        do {
            let served = try await server.request(
                "POST", "/v1/capabilities/answer/call", body: #"{"crash":1}"#,
                headers: ["X-Toolhost-Complexity": "2"])
            #expect(served.status == 200)
            #expect(served.body == ["crash": 1])
            #expect(served.headers["X-Toolhost-Provider"] as? String == "probe.echo")

            let listed = try await server.request("GET", "/v1/capabilities")
            let answer = try #require(listed.body?["capabilities"]?[0])
            #expect(answer["name"] == "answer" && answer["mcpName"] == "capability-answer")
            let providers = answer["providers"]?.arrayValue ?? []
            #expect(Set(providers.compactMap { $0["tool"]?.stringValue }) == ["faults.answer", "probe.echo"])
            let crashed = try #require(providers.first { $0["tool"] == "faults.answer" })
            #expect(crashed["failovers"] == 1 && crashed["lastError"] == "plugin_crashed")
            #expect(crashed["score"]?.doubleValue != nil && crashed["errorRate"]?.doubleValue ?? 0 > 0)

            let missing = try await server.request("POST", "/v1/capabilities/answr/call", body: "{}")
            #expect(missing.status == 404)
            #expect(missing.body?["error"]?["message"]?.stringValue?.contains("did you mean 'answer'") == true)
            let invalid = try await server.request("POST", "/v1/capabilities/answer/call", body: #"{"crash":"x"}"#)
            #expect(invalid.status == 400)
            let badComplexity = try await server.request(
                "POST", "/v1/capabilities/answer/call?complexity=5000", body: "{}")
            #expect(badComplexity.status == 400)
            #expect(
                badComplexity.body?["error"]?["message"]?.stringValue?.contains("query parameter complexity") == true)

            let batch = try await server.request(
                "POST", "/v1/batch",
                body: #"[{"capability":"answer","arguments":{"text":"b"}},{"capability":"nope"},"#
                    + #"{"tool":"probe.echo","capability":"answer"}]"#)
            #expect(batch.status == 400, "a call naming both a tool and a capability is refused")
            let good = try await server.request(
                "POST", "/v1/batch", body: #"[{"capability":"answer","arguments":{"text":"b"}},{"capability":"nope"}]"#)
            let results = good.body?["results"]
            #expect(results?[0]?["capability"] == "answer")
            #expect(["faults.answer", "probe.echo"].contains(results?[0]?["provider"]?.stringValue ?? ""))
            #expect(results?[1]?["capability"] == "nope" && results?[1]?["error"]?["code"] == "not_found")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test func aDisagreeingProviderShowsInThePluginListAndCheck() async throws {
        let plugins = try await CapabilityFixtures.plugins()
        try await CapabilityFixtures.installProbe(
            in: plugins, folder: "zprobe",
            manifest: Fixtures.probeManifest(
                name: "zprobe", toolPolicy: ["echo": ["provides": ["answer"], "inputSchema": ["type": "object"]]]))
        let server = try await Server(plugins: plugins)
        do {
            let listed = try await server.request("GET", "/v1/plugins")
            let zprobe = try #require(listed.body?["plugins"]?.arrayValue?.first { $0["name"] == "zprobe" })
            let conflict = try #require(zprobe["capabilityConflicts"]?[0])
            #expect(conflict["tool"] == "zprobe.echo" && conflict["provider"] == "faults.answer")
            #expect(try await server.request("POST", "/v1/tools/zprobe.echo/call", body: "{}").status == 200)
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
        let check = try await Fixtures.run(
            Fixtures.binary, ["check", plugins + "/zprobe"],
            environment: ["TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory("toolhost-state")])
        #expect(check.status == 1)
        #expect(check.stdout.contains("tool 'zprobe.echo' is not a provider of capability 'answer'"))
        #expect(check.stdout.contains("'faults.answer'"))
    }

    @Test func theCLICallsACapabilityAndSaysWhichProviderServed() async throws {
        let plugins = try await CapabilityFixtures.plugins(faults: ["answer": ["weight": 10]])
        let environment = ["TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory("toolhost-state")]
        let result = try await Fixtures.run(
            Fixtures.binary, ["call", "--plugins", plugins, "--capability", "answer", #"{"crash":1}"#],
            environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try JSONValue.parse(Array(result.stdout.utf8)) == ["crash": 1])
        #expect(result.stderr.contains("failed over: faults.answer: plugin_crashed"))
        #expect(result.stderr.contains("provider: probe.echo"))
        let misused = try await Fixtures.run(
            Fixtures.binary, ["call", "--plugins", plugins, "--capability", "answer", "probe.echo", "{}"],
            environment: environment)
        #expect(misused.status == 64 && misused.stderr.contains("give only the arguments"))
        let badComplexity = try await Fixtures.run(
            Fixtures.binary, ["call", "--plugins", plugins, "--capability", "answer", "--complexity", "0"],
            environment: environment)
        #expect(badComplexity.status == 64 && badComplexity.stderr.contains("--complexity must be a number"))
    }

    @Test func mcpListsACapabilityAsAToolAndTellsTheClientWhenItsProvidersChange() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-capabilities")
        try await CapabilityFixtures.installProbe(in: plugins)
        let child = try MCPChild(plugins: plugins)
        _ = try await child.call(
            "initialize",
            ["protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "tests", "version": "1"]])
        try child.send(["jsonrpc": "2.0", "method": "notifications/initialized"])
        func capabilityTool() async throws -> JSONValue? {
            let listed = try await child.call("tools/list")
            return listed["result"]?["tools"]?.arrayValue?.first { $0["name"] == "capability-answer" }
        }
        let before = try #require(try await capabilityTool())
        #expect(before["inputSchema"] == CapabilityFixtures.answerSchema)
        #expect(before["description"]?.stringValue?.contains("(probe.echo)") == true)
        let first = try await child.call("tools/call", ["name": "capability-answer", "arguments": ["text": "a"]])
        #expect(first["result"]?["_meta"]?["toolhost/provider"] == "probe.echo")

        // A second provider is copied in while serving: the client is told, and the capability lists it.
        try await CapabilityFixtures.installFaults(in: plugins)
        let listChanged: @Sendable (JSONValue) -> Bool = {
            $0["method"]?.stringValue == "notifications/tools/list_changed"
        }
        try await Fixtures.waitUntil("the client is told the tools changed") {
            child.allMessages.contains(where: listChanged)
        }
        let after = try #require(try await capabilityTool())
        #expect(after["description"]?.stringValue?.contains("faults.answer") == true)
        // The newcomer is unproven, so it is tried first: it crashes and the call fails over to the probe.
        let crashed = try await child.call("tools/call", ["name": "capability-answer", "arguments": ["crash": 1]])
        #expect(crashed["result"]?["isError"] == false)
        #expect(crashed["result"]?["_meta"]?["toolhost/provider"] == "probe.echo")
        #expect(crashed["result"]?["_meta"]?["toolhost/failedOver"] == ["faults.answer"])
        let unknown = try await child.call("tools/call", ["name": "capability-answr", "arguments": [:]])
        #expect(unknown["error"]?["message"]?.stringValue?.contains("did you mean 'answer'") == true)
        #expect(await child.stop() == 0)
    }

    @Test func theOperatorsWeightWinsOverTheManifestsAndIsRangeChecked() async throws {
        // Unproven and equal, the faults provider would go first (folder order) and crash; the operator's weight
        // puts the probe first, which answers at once.
        let plugins = try await CapabilityFixtures.plugins()
        let config = Fixtures.temporaryDirectory("toolhost-config") + "/toolhost.json"
        try Data(#"{"pluginOverrides": {"probe": {"tools": {"echo": {"weight": 10}}}}}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        let result = try await Fixtures.run(
            Fixtures.binary,
            ["call", "--plugins", plugins, "--config", config, "--capability", "answer", #"{"crash":1}"#],
            environment: ["TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory("toolhost-state")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("provider: probe.echo") && !result.stderr.contains("failed over"))

        var settings = Settings()
        try settings.apply(
            fileContents: Array(#"{"pluginOverrides": {"p": {"tools": {"t": {"weight": 2.5}}}}}"#.utf8),
            source: "test")
        #expect(settings.host.capabilities.weights == ["p.t": 2.5])
        #expect {
            var settings = Settings()
            try settings.apply(
                fileContents: Array(#"{"pluginOverrides": {"p": {"tools": {"t": {"weight": 0}}}}}"#.utf8),
                source: "test")
        } throws: { error in
            "\(error)".contains("pluginOverrides.p.tools.t.weight") && "\(error)".contains("0.01...100")
        }
    }

    @Test func restAndTheCLIDistributeTasksAndReportUtilisation() async throws {
        let plugins = try await CapabilityFixtures.plugins(faults: ["answer": ["weight": 10]])
        let tasks =
            #"[{"id": "a", "requires": ["answer"], "arguments": {"crash": 1}}, "#
            + #"{"id": "b", "requires": ["answer", "nope"]}, {"id": "c", "requires": ["answer"], "complexity": 3}]"#
        let server = try await Server(plugins: plugins)
        do {
            let answer = try await server.request("POST", "/v1/tasks?concurrency=1", body: tasks)
            #expect(answer.status == 200)
            let results = answer.body?["results"]?.arrayValue ?? []
            #expect(results.compactMap { $0["id"]?.stringValue } == ["a", "b", "c"])
            #expect(results.first?["provider"] == "probe.echo" && results.first?["ok"] == true)
            #expect(results.first?["failedOver"]?[0]?["provider"] == "faults.answer")
            #expect(results[1]["ok"] == false && results[1]["error"]?["code"] == "not_found")
            #expect(results.allSatisfy { $0["durationMs"]?.doubleValue != nil })
            let used = answer.body?["utilisation"]?.arrayValue ?? []
            #expect(used.first { $0["provider"] == "faults.answer" }?["errors"]?.intValue ?? 0 >= 1)
            #expect(used.allSatisfy { $0["p99Ms"]?.doubleValue != nil && $0["limit"]?.intValue != nil })
            let bad = try await server.request(
                "POST", "/v1/tasks", body: #"[{"id": "x", "requires": ["answer"], "complexity": 0}]"#)
            #expect(bad.status == 400)
            #expect(bad.body?["error"]?["message"]?.stringValue?.contains("task 0: complexity must be") == true)
            let badCap = try await server.request("POST", "/v1/tasks?concurrency=0", body: "[]")
            #expect(badCap.status == 400)
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)

        let cli = try await Fixtures.run(
            Fixtures.binary, ["distribute", "--plugins", plugins, "--concurrency", "2", "-"], input: tasks,
            environment: ["TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory("toolhost-state")])
        #expect(cli.status == 1, "task b fails: \(cli.stderr)")
        let printed = try JSONValue.parse(Array(cli.stdout.utf8))
        #expect(printed["results"]?[0]?["ok"] == true && printed["results"]?[2]?["ok"] == true)
        #expect(cli.stderr.contains("1 of 3 tasks failed"))
    }
}
