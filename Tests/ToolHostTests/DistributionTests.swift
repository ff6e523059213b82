import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// Task distribution through the real host: each task to the best tool providing every capability it requires.
@Suite struct DistributionTests {
    @Test func eachTaskGoesToAToolWithEveryCapabilityItRequiresAndFailsAlone() async throws {
        // probe.echo provides `answer` and `mirror`; faults.answer only `answer` (weight 10: first) and crashes.
        let plugins = try await CapabilityFixtures.plugins(
            probe: ["echo": ["provides": ["answer", "mirror"]]],
            faults: ["answer": ["weight": 10], "ok": ["provides": ["okay"]]])
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configuration.isolation.workerExecutable = Fixtures.binary
        configuration.capabilities.referenceLatency = .seconds(3600)
        let host = ToolHost(configuration: configuration)
        defer { host.shutdown() }
        let distribution = await host.distribute(
            [
                DistributedTask(id: "both", requires: ["answer", "mirror"], arguments: ["text": "b"]),
                DistributedTask(id: "crash", requires: ["answer"], arguments: ["crash": 1]),
                DistributedTask(id: "none", requires: ["answer", "nope"]),
                DistributedTask(id: "plain", requires: ["answer"], arguments: ["text": "p"], complexity: 2),
            ], concurrency: 1)
        #expect(distribution.outcomes.map(\.id) == ["both", "crash", "none", "plain"])
        let served = distribution.outcomes.map { try? $0.result.get().tool }
        #expect(served[0] == "probe.echo", "only the probe provides both")
        #expect(served[1] == "probe.echo")
        #expect((try? distribution.outcomes[1].result.get().failedOver.map(\.provider)) == ["faults.answer"])
        guard case .failure(let error) = distribution.outcomes[2].result else {
            Issue.record("a task requiring an unknown capability must fail")
            return
        }
        #expect(error.code == .notFound && error.message.contains("'nope'"))
        #expect(served[3] != nil)
        let faults = try #require(distribution.utilisation.first { $0.provider == "faults.answer" })
        #expect(faults.errors >= 1 && faults.errorRate > 0)
        let probe = try #require(distribution.utilisation.first { $0.provider == "probe.echo" })
        #expect(probe.errors == 0 && probe.calls >= 2 && probe.p99Milliseconds >= probe.meanMilliseconds)
        // No tool provides both capabilities: the task says which tools provide which.
        let split = await host.distribute([DistributedTask(id: "x", requires: ["mirror", "okay"])])
        guard case .failure(let none) = split.outcomes[0].result else {
            Issue.record("no tool provides both: the task must fail")
            return
        }
        #expect(none.code == .notFound)
        #expect(
            none.message.contains(
                "no tool provides all of 'mirror', 'okay' ('mirror' by probe.echo; 'okay' by faults.ok)"))
    }

    @Test func tasksRunInParallelUnderTheCap() async throws {
        let manifest = CapabilityFixtures.probeManifest(
            policy: ["sleep": ["provides": ["nap"]], "gauge": ["provides": ["busy"]]])
        let (host, _) = try await Fixtures.probeHost(manifest: manifest, isolated: true)
        // Three tasks held by a gate all start before it opens: they run at once.
        let gate = Gate()
        let held = (0..<3).map { DistributedTask(id: "\($0)", requires: ["nap"], arguments: ["gate": gate.argument]) }
        let running = Task { await host.distribute(held, concurrency: 3) }
        try await Fixtures.waitUntil("three tasks are running") {
            try await host.call("probe.sleep_read", arguments: [:]).json["started"] == 3
        }
        gate.open()
        #expect(await running.value.outcomes.allSatisfy { (try? $0.result.get()) != nil })
        // Under a cap of 2, never more than 2 at once.
        let busy = (0..<8).map { DistributedTask(id: "\($0)", requires: ["busy"], arguments: ["ms": 20]) }
        let capped = await host.distribute(busy, concurrency: 2)
        let most = capped.outcomes.compactMap { try? $0.result.get().json["max"]?.intValue }
        #expect(most.count == 8 && most.allSatisfy { $0 <= 2 })
    }
}
