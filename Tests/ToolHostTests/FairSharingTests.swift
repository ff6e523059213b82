import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

/// Sharing the host between agents (issue 12, item 5): fair turns in the queue at equal priority, and per-agent
/// quotas of calls at once. A gated call holds the only slot while the others queue, so the order the handlers run
/// in is decided by the scheduler alone, not by the machine's speed.
@Suite struct FairSharingTests {
    /// Queues `calls` (tag, agent, priority) behind a gated blocker on a host with one slot, opens the gate, and
    /// returns the order the handlers ran in (the probe's `order_log`).
    static func runOrder(_ calls: [(tag: String, agent: String, priority: Int?)]) async throws -> String? {
        let (host, _) = try await Fixtures.probeHost { $0.limits.maxConcurrentCalls = 1 }
        defer { host.shutdown() }
        _ = try await host.call("probe.order_log", arguments: [:])  // loaded first
        let gate = Gate()
        defer { gate.open() }
        var tasks = [
            Task {
                await host.call(
                    ToolCall(tool: "probe.order", arguments: ["tag": "block", "gate": gate.argument], agent: "a"))
            }
        ]
        try await Fixtures.waitUntil("the blocker runs") { host.load.running == 1 }
        for (index, call) in calls.enumerated() {
            tasks.append(
                Task {
                    await host.call(
                        ToolCall(
                            tool: "probe.order", arguments: ["tag": .string(call.tag)], priority: call.priority,
                            agent: call.agent))
                })
            try await Fixtures.waitUntil("\(index + 1) calls are queued") { host.load.queued == index + 1 }
        }
        gate.open()
        for task in tasks { _ = await task.value }
        return try await host.call("probe.order_log", arguments: [:]).json["log"]?.stringValue
    }

    /// Agent a queues six calls, then b two: b's take turns with a's instead of waiting behind all of them.
    @Test func agentsTakeTurnsAtEqualPriority() async throws {
        let a = (1...6).map { (tag: "a\($0)", agent: "a", priority: Int?.none) }
        let b = (1...2).map { (tag: "b\($0)", agent: "b", priority: Int?.none) }
        #expect(try await Self.runOrder(a + b) == "block,a1,b1,a2,b2,a3,a4,a5,a6")
    }

    /// Priority still ranks first, across agents; turns order the calls of one priority. An agent's turns are
    /// counted over all its queued calls: a, with two calls queued before, comes after b at priority 5 too.
    @Test func priorityRanksBeforeTurns() async throws {
        let calls: [(tag: String, agent: String, priority: Int?)] = [
            ("a1", "a", 0), ("a2", "a", 0), ("a3", "a", 5), ("b1", "b", 0), ("b2", "b", 5),
        ]
        #expect(try await Self.runOrder(calls) == "block,b2,a3,a1,b1,a2")
    }

    /// One agent alone is served first come first served, as before.
    @Test func oneAgentAloneKeepsItsOrder() async throws {
        let calls = (1...5).map { (tag: "a\($0)", agent: "a", priority: Int?.none) }
        #expect(try await Self.runOrder(calls) == "block,a1,a2,a3,a4,a5")
    }

    /// `agents.maxConcurrentCalls` caps an agent's calls at once (its own quota first); the others' calls run
    /// meanwhile.
    @Test func aQuotaHoldsAnAgentsCallsWhileOthersRun() async throws {
        let (host, _) = try await Fixtures.probeHost {
            $0.limits.maxConcurrentCalls = 8
            $0.agents.maxConcurrentCalls = 2
            $0.agents.quotas = ["vip": 3]
        }
        defer { host.shutdown() }
        _ = try await host.call("probe.echo", arguments: [:])
        let gate = Gate()
        defer { gate.open() }
        func hold(_ agent: String) -> Task<Result<ToolResult, ToolError>, Never> {
            Task { await host.call(ToolCall(tool: "probe.order", arguments: ["gate": gate.argument], agent: agent)) }
        }
        let flooding = (0..<4).map { _ in hold("flood") }
        try await Fixtures.waitUntil("two of flood's calls run and two wait") {
            host.load.running == 2 && host.load.queued == 2
        }
        let vip = (0..<3).map { _ in hold("vip") }
        try await Fixtures.waitUntil("vip's three run beside them") { host.load.running == 5 }
        #expect(host.load.queued == 2, "flood's other two still wait for its quota")
        // A third agent's call runs at once, past flood's waiting calls.
        #expect(try await host.call("probe.echo", arguments: ["other": true], agent: "other").json == ["other": true])
        gate.open()
        for task in flooding + vip { #expect((try? await task.value.get()) != nil) }
    }
}

/// Cache scope (issue 12, item 6): a deterministic tool's results are shared between agents, unless its manifest
/// says `cache.scope: "agent"`.
@Suite struct CacheScopeTests {
    func cached(_ host: ToolHost, agent: String?) async throws -> Bool {
        try await host.call("probe.echo", arguments: ["same": true], agent: agent).cached
    }

    @Test func resultsAreSharedBetweenAgentsByDefault() async throws {
        let (host, _) = try await Fixtures.probeHost(
            manifest: Fixtures.probeManifest(toolPolicy: ["echo": ["deterministic": true]]))
        defer { host.shutdown() }
        #expect(try await !cached(host, agent: "a"))
        #expect(try await cached(host, agent: "b"), "b reads what a's call stored")
    }

    @Test func anAgentScopedToolKeepsEachAgentsResults() async throws {
        let (host, _) = try await Fixtures.probeHost(
            manifest: Fixtures.probeManifest(toolPolicy: ["echo": ["deterministic": true, "cache": ["scope": "agent"]]])
        )
        defer { host.shutdown() }
        #expect(try await !cached(host, agent: "a"))
        #expect(try await !cached(host, agent: "b"), "b never reads a's result")
        #expect(try await cached(host, agent: "a"))
        #expect(try await cached(host, agent: "b"))
        #expect(try await !cached(host, agent: nil), "calls that name no agent share a scope of their own")
        #expect(try await cached(host, agent: nil))
    }

    @Test func anUnknownScopeIsRefusedWhenTheManifestIsRead() throws {
        let manifest = Fixtures.probeManifest(
            toolPolicy: ["echo": ["deterministic": true, "cache": ["scope": "caller"]]])
        #expect(throws: ManifestError.self) { try PluginManifest.parse(manifest.serialized(), file: "manifest.json") }
    }
}
