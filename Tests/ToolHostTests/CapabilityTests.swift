import Foundation
import Synchronization
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// The quarantine's clock, moved by hand.
private final class QuarantineClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = Mutex<Duration>(.zero)
    func now() -> ContinuousClock.Instant { start + offset.withLock { $0 } }
    func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
}

/// Calls by capability through the real host: two real plugins provide `answer`, `probe.echo` in process and
/// `faults.answer` in a worker process that crashes on demand.
@Suite struct CapabilityTests {
    private func host(
        _ plugins: String, clock: ManualClock = ManualClock(),
        configure: (inout ToolHost.Configuration) -> Void = { _ in }
    ) -> ToolHost {
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configuration.isolation.workerExecutable = Fixtures.binary
        configuration.capabilities.clock = { clock.read() }
        configure(&configuration)
        return ToolHost(configuration: configuration)
    }

    private func provider(_ host: ToolHost, _ tool: String, of capability: String = "answer") -> ProviderInfo? {
        host.capabilities().first { $0.name == capability }?.providers.first { $0.tool == tool }
    }

    @Test func aCallByCapabilityIsServedByOneOfItsProvidersAndSaysWhich() async throws {
        let host = host(try await CapabilityFixtures.plugins())
        defer { host.shutdown() }
        let listed = try #require(host.capabilities().first { $0.name == "answer" })
        #expect(Set(listed.providers.map(\.tool)) == ["faults.answer", "probe.echo"])
        #expect(listed.inputSchema == CapabilityFixtures.answerSchema)
        let result = try await host.call(capability: "answer", arguments: ["text": "hi"])
        #expect(result.capability == "answer")
        #expect(["faults.answer", "probe.echo"].contains(result.tool))
        #expect(result.failedOver.isEmpty)
        #expect(provider(host, result.tool)?.calls == 1)
    }

    /// A call by capability is its caller's: the agent's figures count it, under the provider that ran it, the
    /// failed-over attempt included.
    @Test func aCallByCapabilityCountsForItsAgent() async throws {
        let host = host(try await CapabilityFixtures.plugins(faults: ["answer": ["weight": 10]]))
        defer { host.shutdown() }
        let result = await host.call(ToolCall(capability: "answer", arguments: ["crash": 1], agent: "router-agent"))
        #expect((try? result.get().tool) == "probe.echo")
        let agent = try #require(host.agents().first { $0.agent == "router-agent" })
        #expect(agent.tools == ["faults.answer": 1, "probe.echo": 1], "\(agent.tools)")
        #expect(agent.errors == ["plugin_crashed": 1])
    }

    @Test func aCrashingProviderFailsOverToTheNextWithinTheCall() async throws {
        // The faults provider ranks first (weight 10), crashes its worker, and the call goes on to the probe.
        let host = host(try await CapabilityFixtures.plugins(faults: ["answer": ["weight": 10]]))
        defer { host.shutdown() }
        let result = try await host.call(capability: "answer", arguments: ["crash": 1])
        #expect(result.tool == "probe.echo")
        #expect(result.json == ["crash": 1])
        #expect(result.failedOver.map(\.provider) == ["faults.answer"])
        #expect(result.failedOver.first?.error.code == .pluginCrashed)
        let crashed = try #require(provider(host, "faults.answer"))
        #expect(crashed.failovers == 1 && crashed.errors == 1 && crashed.lastError == "plugin_crashed")
        #expect(crashed.errorRate > 0)
    }

    @Test func invalidArgumentsAndAToolsOwnErrorDoNotFailOver() async throws {
        // `probe.fail` answers plugin_error; it ranks first (weight 100) and its answer is the call's.
        let plugins = try await CapabilityFixtures.plugins(
            probe: ["fail": ["provides": ["refuse"], "weight": 100]], faults: ["ok": ["provides": ["refuse"]]])
        let host = host(plugins)
        defer { host.shutdown() }
        let refused = await host.call(ToolCall(capability: "refuse"))
        guard case .failure(let error) = refused else {
            Issue.record("expected plugin_error, got \(refused)")
            return
        }
        #expect(error.code == .pluginError)
        #expect(provider(host, "faults.ok", of: "refuse")?.calls == 0, "no failover after plugin_error")
        // Arguments the shared schema refuses are refused before any provider runs.
        let invalid = await host.call(ToolCall(capability: "answer", arguments: ["crash": "yes"]))
        guard case .failure(let invalidError) = invalid else {
            Issue.record("expected invalid_arguments, got \(invalid)")
            return
        }
        #expect(invalidError.code == .invalidArguments)
        #expect(host.capabilities().first { $0.name == "answer" }?.providers.allSatisfy { $0.failovers == 0 } == true)
    }

    @Test func aProviderThatTimesOutWithTimeLeftFailsOver() async throws {
        // `probe.sleep` (timeoutMs 50, first by weight) times out; the call's own deadline (30 s) has time left.
        let plugins = try await CapabilityFixtures.plugins(
            probe: ["sleep": ["provides": ["nap"], "timeoutMs": 50, "weight": 100]],
            faults: ["ok": ["provides": ["nap"]]])
        let host = host(plugins)
        defer { host.shutdown() }
        let result = try await host.call(capability: "nap", arguments: ["ms": 10_000])
        #expect(result.tool == "faults.ok")
        #expect(result.failedOver.map(\.error.code) == [.timeout])
        // With no time left, the timeout is the answer.
        let plugins2 = try await CapabilityFixtures.plugins(probe: ["sleep": ["provides": ["nap"], "weight": 100]])
        let alone = self.host(plugins2)
        defer { alone.shutdown() }
        let timedOut = await alone.call(
            ToolCall(capability: "nap", arguments: ["ms": 10_000], timeout: .milliseconds(50)))
        guard case .failure(let error) = timedOut else {
            Issue.record("expected timeout, got \(timedOut)")
            return
        }
        #expect(error.code == .timeout)
    }

    @Test func providersWhoseSchemasDisagreeAreRefusedNamingBoth() async throws {
        let plugins = try await CapabilityFixtures.plugins()
        // A third plugin provides `answer` with another schema: it is not added, and says why; it still serves.
        try await CapabilityFixtures.installProbe(
            in: plugins, folder: "zprobe",
            manifest: Fixtures.probeManifest(
                name: "zprobe",
                toolPolicy: ["echo": ["provides": ["answer"], "inputSchema": ["type": "object", "required": ["x"]]]]))
        let host = host(plugins)
        defer { host.shutdown() }
        let conflict = try #require(host.capabilityConflicts().first)
        #expect(conflict.tool == "zprobe.echo" && conflict.provider == "faults.answer")
        #expect(conflict.description.contains("'zprobe.echo'") && conflict.description.contains("'faults.answer'"))
        #expect(conflict.difference.contains("/properties"))
        #expect(host.plugins().first { $0.name == "zprobe" }?.capabilityConflicts == [conflict])
        #expect(host.capabilities().first?.providers.map(\.tool).sorted() == ["faults.answer", "probe.echo"])
        #expect(try await host.call("zprobe.echo", arguments: ["x": 1]).json == ["x": 1])
        // Member order does not matter: the canonical form is compared.
        #expect(
            CapabilityConflict.schemaDifference(
                try JSONValue.parse(Array(#"{"type":"object","properties":{"a":{"type":"integer"}}}"#.utf8)),
                try JSONValue.parse(Array(#"{"properties":{"a":{"type":"integer"}},"type":"object"}"#.utf8))) == nil)
    }

    @Test func twoToolsOfOneManifestWithDisagreeingSchemasAreAManifestError() throws {
        let manifest = Fixtures.probeManifest(
            tools: ["echo", "fail"],
            toolPolicy: [
                "echo": ["provides": ["answer"]],
                "fail": ["provides": ["answer"], "inputSchema": ["type": "object", "minProperties": 1]],
            ])
        #expect {
            try PluginManifest.parse(manifest.serialized(), file: "manifest.json")
        } throws: { error in
            let message = "\(error)"
            return message.contains("'echo' and 'fail' both provide capability 'answer'")
                && message.contains("/tools/1/provides")
        }
    }

    @Test func anUnknownCapabilityNamesCloseMatches() async throws {
        let host = host(try await CapabilityFixtures.plugins())
        let outcome = await host.call(ToolCall(capability: "answr"))
        guard case .failure(let error) = outcome else {
            Issue.record("expected not_found, got \(outcome)")
            return
        }
        #expect(error.code == .notFound)
        #expect(error.message.contains("did you mean 'answer'"))
        let tool = await host.call(ToolCall(capability: "probe.echo"))
        guard case .failure(let toolError) = tool else { return }
        #expect(toolError.message.contains("is a tool"))
        let badComplexity = await host.call(ToolCall(capability: "answer", complexity: 0))
        guard case .failure(let rangeError) = badComplexity else { return }
        #expect(rangeError.code == .invalidArguments && rangeError.message.contains("0.01...1000.0"))
    }

    @Test func anUnprovenProviderIsTriedEvenWhenAProvenOneScoresHigher() async throws {
        let host = host(try await CapabilityFixtures.plugins()) {
            $0.capabilities.weights = ["faults.answer": 3]
            $0.capabilities.referenceLatency = .seconds(3600)
        }
        defer { host.shutdown() }
        // Both unproven: the heavier goes first. Then it scores about 3 against the other's 1, but the other, still
        // unproven, gets the next call: a provider is never starved for having no history.
        #expect(try await host.call(capability: "answer", arguments: [:]).tool == "faults.answer")
        #expect(host.capabilities()[0].providers.first { $0.tool == "faults.answer" }?.score ?? 0 > 2.9)
        #expect(try await host.call(capability: "answer", arguments: [:]).tool == "probe.echo")
        // Both proven now: the score decides.
        #expect(try await host.call(capability: "answer", arguments: [:]).tool == "faults.answer")
    }

    @Test func failuresRankAProviderLastUntilTheyFade() async throws {
        let clock = ManualClock()
        let host = host(try await CapabilityFixtures.plugins(), clock: clock) {
            $0.capabilities.halfLife = .seconds(10)
            // Time hardly counts here (a worker's start takes long on a busy machine): errors and weights do.
            $0.capabilities.referenceLatency = .seconds(3600)
            $0.capabilities.weights = ["faults.answer": 2.5]
        }
        defer { host.shutdown() }
        // Two crashes of the faults provider, each failed over to the probe: 2.5 × (1 − 2/3) < 1 × (1 − 0).
        for _ in 0..<2 {
            let result = try await host.call(capability: "answer", arguments: ["crash": 1])
            #expect(result.tool == "probe.echo" && result.failedOver.map(\.provider) == ["faults.answer"])
        }
        var ranked = host.capabilities()[0].providers
        #expect(ranked.map(\.tool) == ["probe.echo", "faults.answer"])
        #expect(try await host.call(capability: "answer", arguments: [:]).tool == "probe.echo")
        let before = try #require(ranked.last)
        #expect(abs(before.errorRate - 2.0 / 3.0) < 1e-9 && before.recentCalls == 2)
        // Ten half-lives later its failures weigh a thousandth: unproven again, it is tried first.
        clock.advance(.seconds(100))
        ranked = host.capabilities()[0].providers
        let faded = try #require(ranked.first { $0.tool == "faults.answer" })
        #expect(faded.recentCalls < 0.01 && faded.errorRate < 0.01)
        #expect(ranked.first?.tool == "faults.answer")
        #expect(try await host.call(capability: "answer", arguments: [:]).tool == "faults.answer")
    }

    @Test func theScoreFollowsTheDocumentedFormula() async throws {
        let clock = ManualClock()
        let host = host(try await CapabilityFixtures.plugins(probe: ["echo": ["weight": 2]]), clock: clock) {
            $0.capabilities.referenceLatency = .milliseconds(100)
        }
        let router = host.router
        let entry = try #require(
            host.registry.snapshot.capabilities["answer"]?.providers.first { $0.fullName == "probe.echo" })
        let provider = router.provider("probe.echo")
        // 3 calls, 1 error, 300 ms in all; 1 of 4 slots busy; complexity 2:
        // r = 1/4, m = 300/4 = 75 ms, u = 1/4, score = 2 × 0.75 × 0.75 / (1 + 2 × 75 / 100) = 0.45.
        router.record(provider, milliseconds: 100, error: nil, failedOver: false)
        router.record(provider, milliseconds: 100, error: nil, failedOver: false)
        router.record(provider, milliseconds: 100, error: .pluginCrashed, failedOver: true)
        provider.inFlight.store(1, ordering: .relaxed)
        let score = router.score(entry, provider: provider, limit: 4, complexity: 2)
        #expect(abs(score.value - 0.45) < 1e-9)
        #expect(score.errorRate == 0.25 && score.expectedMilliseconds == 75 && score.load == 0.25)
        // One half-life later every sum is halved: r = 0.5/2.5, m = 150/2.5.
        clock.advance(.seconds(60))
        let later = router.score(entry, provider: provider, limit: 4, complexity: 2)
        #expect(abs(later.errorRate - 0.2) < 1e-9 && abs(later.expectedMilliseconds - 60) < 1e-9)
    }

    @Test func aQuarantinedProviderIsLeftOutThenProbedAndRejoinsWhenItAnswers() async throws {
        let clock = QuarantineClock()
        let host = host(try await CapabilityFixtures.plugins(faults: ["answer": ["weight": 10]])) {
            $0.isolation.quarantine = .init(threshold: 2, window: .seconds(60), coolDown: .seconds(30))
            $0.isolation.quarantineClock = { clock.now() }
            $0.capabilities.referenceLatency = .seconds(3600)
        }
        defer { host.shutdown() }
        for _ in 0..<2 {
            #expect(try await host.call(capability: "answer", arguments: ["crash": 1]).tool == "probe.echo")
        }
        #expect(provider(host, "faults.answer")?.state == .quarantined)
        // Left out: the call goes straight to the probe, nothing fails over.
        let skipped = try await host.call(capability: "answer", arguments: [:])
        #expect(skipped.tool == "probe.echo" && skipped.failedOver.isEmpty)
        // After the cool-down the next call is its probe; a crash quarantines it again at once (one failure, not
        // the threshold of two).
        clock.advance(.seconds(31))
        #expect(provider(host, "faults.answer")?.state == .probing)
        let failedProbe = try await host.call(capability: "answer", arguments: ["crash": 1])
        #expect(failedProbe.failedOver.map(\.provider) == ["faults.answer"])
        #expect(provider(host, "faults.answer")?.state == .quarantined)
        // The next probe answers: it rejoins.
        clock.advance(.seconds(31))
        #expect(provider(host, "faults.answer")?.state == .probing)
        let probe = try await host.call(capability: "answer", arguments: [:])
        #expect(probe.tool == "faults.answer")
        #expect(provider(host, "faults.answer")?.state == .available)
    }

    @Test func aHalfOpenProviderTakesOneProbeAtATime() async throws {
        // probe.sleep (first by weight) times out once and is quarantined; faults.ok serves meanwhile.
        let plugins = try await CapabilityFixtures.plugins(
            probe: ["sleep": ["provides": ["nap"], "weight": 10, "timeoutMs": 1000]],
            faults: ["ok": ["provides": ["nap"]]])
        let clock = QuarantineClock()
        let host = host(plugins) {
            $0.isolation.quarantine = .init(threshold: 1, window: .seconds(60), coolDown: .seconds(30))
            $0.isolation.quarantineClock = { clock.now() }
        }
        defer { host.shutdown() }
        let first = try await host.call(capability: "nap", arguments: ["ms": 10_000])
        #expect(first.tool == "faults.ok" && first.failedOver.map(\.error.code) == [.timeout])
        #expect(provider(host, "probe.sleep", of: "nap")?.state == .quarantined)
        clock.advance(.seconds(31))
        #expect(provider(host, "probe.sleep", of: "nap")?.state == .probing)
        // The probe is held by a gate; meanwhile another call does not wait for it, nor pile onto the provider.
        let gate = Gate()
        let probe = Task { try await host.call(capability: "nap", arguments: ["gate": gate.argument]) }
        try await Fixtures.waitUntil("the probe runs") { provider(host, "probe.sleep", of: "nap")?.inFlight == 1 }
        let meanwhile = try await host.call(capability: "nap", arguments: [:])
        #expect(meanwhile.tool == "faults.ok" && meanwhile.failedOver.isEmpty)
        gate.open()
        #expect(try await probe.value.tool == "probe.sleep")
        #expect(provider(host, "probe.sleep", of: "nap")?.state == .available)
    }

    @Test func aCallByCapabilityRunsThroughThePipelineCacheIncluded() async throws {
        // A deterministic provider's results are cached under the provider's own key.
        let plugins = Fixtures.temporaryDirectory("toolhost-capabilities")
        try await CapabilityFixtures.installProbe(
            in: plugins, manifest: CapabilityFixtures.probeManifest(policy: ["echo": ["deterministic": true]]))
        let host = host(plugins)
        let first = try await host.call(capability: "answer", arguments: ["text": "x"])
        let second = try await host.call(capability: "answer", arguments: ["text": "x"])
        #expect(first.tool == "probe.echo" && !first.cached)
        #expect(second.tool == "probe.echo" && second.cached && second.capability == "answer")
    }
}
