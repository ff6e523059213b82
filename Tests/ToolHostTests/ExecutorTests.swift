import Foundation
import Synchronization
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// Scheduling, limits, deadlines, cancellation and retries, against the instrumented probe plugin.
@Suite struct ExecutorTests {
    /// The scheduler and the executor do not keep each other alive: a host's scheduler is freed with the host once
    /// its calls are done.
    @Test func aHostsSchedulerIsFreedWithTheHost() async throws {
        weak var scheduler: Scheduler?
        do {
            let (host, _) = try await Fixtures.probeHost()
            #expect(try await host.call("probe.echo", arguments: ["x": 1]).json == ["x": 1])
            scheduler = host.executor.scheduler
            host.shutdown()
        }
        // The pool thread that ran the call lets go of its job just after answering it: wait for that (bounded).
        let giveUp = ContinuousClock.now + .seconds(10)
        while scheduler != nil, ContinuousClock.now < giveUp { try await Task.sleep(for: .milliseconds(5)) }
        #expect(scheduler == nil)
    }

    private func policy(_ entries: [String: JSONObject]) -> JSONValue {
        Fixtures.probeManifest(toolPolicy: entries)
    }

    /// Waits (bounded) until the host reports `queued` waiting calls.
    private func waitForQueue(_ host: ToolHost, _ queued: Int) async throws {
        try await Fixtures.waitUntil("the queue reaches \(queued) (now \(host.load.queued))") {
            host.load.queued >= queued
        }
    }

    @Test func queuedCallsStartInPriorityOrder() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true) { $0.limits.maxConcurrentCalls = 1 }
        _ = try await host.call("probe.order_log", arguments: [:])  // loaded before the clock matters
        // The first call holds the only slot until every other call is queued (the gate), however slow the machine.
        let gate = Gate()
        let first = Task {
            await host.call(ToolCall(tool: "probe.order", arguments: ["tag": "first", "gate": gate.argument]))
        }
        try await Fixtures.waitUntil("a call is running") { host.load.running > 0 }
        var tasks = [first]
        for (index, (tag, priority)) in [("low", 1), ("high", 5), ("mid", 3), ("high2", 5), ("none", 0)].enumerated() {
            tasks.append(
                Task {
                    await host.call(ToolCall(tool: "probe.order", arguments: ["tag": .string(tag)], priority: priority))
                })
            try await waitForQueue(host, index + 1)
        }
        gate.open()
        for task in tasks { _ = await task.value }
        let log = try await host.call("probe.order_log", arguments: [:])
        #expect(log.json["log"] == "first,high,high2,mid,low,none")
    }

    @Test func manifestPriorityIsUsedWhenTheCallGivesNone() async throws {
        let manifest = policy(["order": ["priority": 9]])
        let (host, _) = try await Fixtures.probeHost(manifest: manifest, isolated: true) {
            $0.limits.maxConcurrentCalls = 1
        }
        _ = try await host.call("probe.order_log", arguments: [:])  // loaded before the clock matters
        let gate = Gate()
        let blocker = Task {
            await host.call(
                ToolCall(tool: "probe.order", arguments: ["tag": "block", "gate": gate.argument], priority: 10))
        }
        try await Fixtures.waitUntil("a call is running") { host.load.running > 0 }
        // Queued first, with an explicit priority 0; then one that gives none and so gets the manifest's 9.
        let low = Task { await host.call(ToolCall(tool: "probe.order", arguments: ["tag": "low"], priority: 0)) }
        try await waitForQueue(host, 1)
        let manifestPriority = Task { await host.call(ToolCall(tool: "probe.order", arguments: ["tag": "manifest"])) }
        try await waitForQueue(host, 2)
        gate.open()
        for task in [blocker, low, manifestPriority] { _ = await task.value }
        // The plugin's own log says in which order the handlers ran.
        let log = try await host.call("probe.order_log", arguments: [:])
        #expect(log.json["log"] == "block,manifest,low", "priority 9 from the manifest runs before priority 0")
    }

    @Test func perToolLimitIsNeverExceeded() async throws {
        let (host, _) = try await Fixtures.probeHost(manifest: policy(["gauge": ["maxConcurrency": 3]]), isolated: true)
        let results = await host.batch((0..<24).map { _ in ToolCall(tool: "probe.gauge", arguments: ["ms": 20]) })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let read = try await host.call("probe.gauge_read", arguments: [:])
        #expect(read.json["max"] == 3, "the limit is reached and never passed")
    }

    @Test func perPluginLimitIsNeverExceeded() async throws {
        let manifest = Fixtures.probeManifest(overrides: ["maxConcurrency": 2])
        let (host, _) = try await Fixtures.probeHost(manifest: manifest, isolated: true)
        _ = await host.batch((0..<16).map { _ in ToolCall(tool: "probe.gauge", arguments: ["ms": 20]) })
        #expect(try await host.call("probe.gauge_read", arguments: [:]).json["max"] == 2)
    }

    @Test func globalLimitIsNeverExceeded() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true) { $0.limits.maxConcurrentCalls = 4 }
        _ = await host.batch((0..<32).map { _ in ToolCall(tool: "probe.gauge", arguments: ["ms": 10]) })
        #expect(try await host.call("probe.gauge_read", arguments: [:]).json["max"] == 4)
    }

    @Test func aToolThatIsNotThreadSafeNeverRunsTwiceAtOnce() async throws {
        let (host, _) = try await Fixtures.probeHost(
            manifest: policy(["serial": ["maxConcurrency": 8]]), isolated: true)
        let results = await host.batch((0..<12).map { _ in ToolCall(tool: "probe.serial", arguments: ["ms": 10]) })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(try await host.call("probe.gauge_read", arguments: [:]).json["max"] == 1)
    }

    @Test func waitQueueIsBoundedAndRefusesAtOnce() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true) {
            $0.limits.maxConcurrentCalls = 1
            $0.limits.maxQueuedCalls = 2
        }
        // A blocker that runs until it is cancelled (a fixed pause could end before a loaded machine queues the rest).
        let running = Task { await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 60_000])) }
        try await Fixtures.waitUntil("a call is running") { host.load.running > 0 }
        let queued = (0..<2).map { _ in Task { await host.call(ToolCall(tool: "probe.echo")) } }
        try await waitForQueue(host, 2)
        let refused = await host.call(ToolCall(tool: "probe.echo"))
        guard case .failure(let error) = refused else {
            Issue.record("expected overloaded, got \(refused)")
            running.cancel()
            return
        }
        #expect(error.code == .overloaded)
        running.cancel()
        _ = await running.value
        for task in queued { #expect((try? await task.value.get()) != nil, "queued calls still run") }
    }

    @Test func aSlowFirstLoadDoesNotEatTheToolsTimeoutButTheCallersTimeoutStillHolds() async throws {
        // init takes 400 ms; the tool's timeoutMs is 200 ms.
        let manifest = policy(["echo": ["timeoutMs": 200]])
        let (host, _) = try await Fixtures.probeHost(defines: ["INIT_SLEEP_MS=400"], manifest: manifest, isolated: true)
        let first = try await host.call("probe.echo", arguments: ["cold": true])
        #expect(first.json == ["cold": true], "the load is not the tool's work")

        // A caller's own timeout counts from the start of the call, load included.
        let (other, _) = try await Fixtures.probeHost(
            defines: ["INIT_SLEEP_MS=400"], manifest: manifest, isolated: true)
        let capped = await other.call(ToolCall(tool: "probe.echo", timeout: .milliseconds(100)))
        guard case .failure(let error) = capped else {
            Issue.record("expected the caller's 100 ms to expire during the 400 ms load, got \(capped)")
            return
        }
        #expect(error.code == .timeout && error.message.contains("the call's timeout"))
    }

    @Test func aCallerStopsWaitingForASlowLoadAtItsDeadlineOrWhenCancelled() async throws {
        // init waits for the gate; every caller below stops waiting while it is still loading, and the load is not
        // lost.
        let gate = Gate()
        defer { gate.open() }
        let (host, _) = try await Fixtures.probeHost(defines: ["INIT_GATE=\"\(gate.path)\""], isolated: true)

        // Cancelled before it starts: answered at once, and the load it started goes on.
        let early = await Task { () async -> Result<ToolResult, ToolError> in
            withUnsafeCurrentTask { $0?.cancel() }
            return await host.call(ToolCall(tool: "probe.echo", arguments: ["n": 1]))
        }.value
        #expect({ if case .failure(let e) = early { e.code == .cancelled } else { false } }(), "\(early)")
        #expect(host.plugins().first?.state == .loading)

        // A caller's timeout passes during the load: a timeout at once, saying why.
        let timedOut = await host.call(ToolCall(tool: "probe.echo", timeout: .milliseconds(100)))
        guard case .failure(let error) = timedOut else {
            Issue.record("expected a timeout during the load, got \(timedOut)")
            return
        }
        #expect(error.code == .timeout)
        #expect(error.message.contains("100 ms (the call's timeout)") && error.message.contains("still loading"))

        // A caller cancelled while it waits for the load.
        let waiting = Task { await host.call(ToolCall(tool: "probe.echo", arguments: ["n": 2])) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        let cancelled = await waiting.value
        #expect({ if case .failure(let e) = cancelled { e.code == .cancelled } else { false } }(), "\(cancelled)")
        // Nobody above waited for the load: it is still going on (a condition, not a race with the clock).
        #expect(host.plugins().first?.state == .loading)

        // The load goes on once init may end: a caller that waits gets its answer.
        gate.open()
        let served = try await host.call("probe.echo", arguments: ["n": 3])
        #expect(served.json == ["n": 3])
        #expect(host.plugins().first?.state == .loaded)
    }

    @Test func timeoutIsPromptAndThePluginSeesCancellation() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true)
        _ = try await host.call("probe.echo", arguments: [:])  // the load is not what this test times
        // A handler that ignores cancellation and holds until the gate opens, which happens only after the answer:
        // the timeout answers without waiting for the handler, however slow the machine.
        let gate = Gate()
        defer { gate.open() }
        let started = ContinuousClock.now
        let result = await host.call(
            ToolCall(tool: "probe.hang", arguments: ["gate": gate.argument], timeout: .milliseconds(100)))
        let elapsed = ContinuousClock.now - started
        gate.open()
        guard case .failure(let error) = result else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        #expect(error.code == .timeout)
        #expect(error.message.contains("100 ms (the call's timeout)"))
        #expect(elapsed >= .milliseconds(100))
        // A handler that polls is_cancelled sees it turn true and stops long before its 10 minutes.
        let polled = await host.call(
            ToolCall(tool: "probe.sleep", arguments: ["ms": 600_000], timeout: .milliseconds(100)))
        #expect({ if case .failure(let e) = polled { e.code == .timeout } else { false } }(), "\(polled)")
        // Waited for as a condition (bounded far below the 10 minutes the handler would take if it never saw it).
        var seen: JSONValue = .null
        let giveUp = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < giveUp {
            seen = try await host.call("probe.sleep_read", arguments: [:]).json
            if seen["finished"] == 1 { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(seen == ["started": 1, "cancelled": 1, "finished": 1])
    }

    @Test func theToolTimeoutAppliesWhenTheCallGivesNone() async throws {
        let (host, _) = try await Fixtures.probeHost(manifest: policy(["sleep": ["timeoutMs": 50]]), isolated: true)
        _ = try await host.call("probe.echo", arguments: [:])
        let result = await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 5000], timeout: .seconds(10)))
        guard case .failure(let error) = result else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        #expect(error.code == .timeout && error.message.contains("50 ms (its timeoutMs)"))
    }

    @Test func aHungPluginDoesNotDelayAnotherPlugin() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        try Fixtures.install(
            in: plugins, folder: "stuck",
            manifest: Fixtures.probeManifest(name: "stuck", overrides: ["maxConcurrency": 2]),
            libraryFrom: try await Fixtures.compile(defines: ["PLUGIN_NAME=\"stuck\"", "FIXTURE_INSTANCE=\"hung\""]))
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: try await Fixtures.compile())
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("store"))
        configuration.limits.maxConcurrentCalls = 4
        let host = ToolHost(configuration: configuration)
        _ = try await host.call("stuck.echo", arguments: [:])  // loaded before the clock matters
        // Two calls hang until the gate opens, ignoring cancellation; they time out but keep stuck's two slots. (3 s:
        // the wait below must see both running before they time out, and under ThreadSanitizer on a busy 2-core
        // machine its polls were more than 500 ms apart.)
        let gate = Gate()
        defer { gate.open() }
        let hung = (0..<2).map { _ in
            Task {
                await host.call(
                    ToolCall(tool: "stuck.hang", arguments: ["gate": gate.argument], timeout: .seconds(3)))
            }
        }
        try await Fixtures.waitUntil("two calls are running") { host.load.running >= 2 }
        #expect(host.load.running == 2)
        for task in hung {
            let result = await task.value
            #expect({ if case .failure(let e) = result { e.code == .timeout } else { false } }())
        }
        #expect(host.load.running == 0, "timed-out calls give their global slots back")
        // stuck has no slot left: its next call waits and times out…
        let blocked = await host.call(ToolCall(tool: "stuck.echo", timeout: .milliseconds(100)))
        if case .failure(let error) = blocked { #expect(error.code == .timeout) } else { Issue.record("\(blocked)") }
        // …while another plugin's calls run, even with the global limit at 4. Stuck's handlers are still hung (the
        // gate is shut): calls held up behind them would time out instead of answering.
        let results = await host.batch(
            (0..<8).map { _ in ToolCall(tool: "probe.echo", arguments: ["ok": true], timeout: .seconds(60)) })
        #expect(results.allSatisfy { (try? $0.get().json) == ["ok": true] }, "\(results)")
    }

    @Test func cancellingTheTaskCancelsTheCall() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true)
        let task = Task { await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 600_000])) }
        // Wait until the handler is really running (not just admitted).
        try await Fixtures.waitUntil("the handler runs") {
            try await host.call("probe.sleep_read", arguments: [:]).json["started"] == 1
        }
        let started = ContinuousClock.now
        task.cancel()
        let result = await task.value
        #expect(ContinuousClock.now - started < .seconds(120), "answered on cancel, not after the 10 minutes")
        guard case .failure(let error) = result else {
            Issue.record("expected cancelled, got \(result)")
            return
        }
        #expect(error.code == .cancelled)
        try await Fixtures.waitUntil("the plugin sees is_cancelled") {
            try await host.call("probe.sleep_read", arguments: [:]).json["cancelled"] == 1
        }
    }

    // MARK: waiting awake (Limits.awakeWait)

    @Test func aLoneFastCallIsAnsweredWhileItsCallerWaitsAwake() async throws {
        let (host, _) = try await Fixtures.probeHost { $0.limits.awakeWait = .milliseconds(1) }
        for index in 0..<200 {
            #expect(
                try await host.call("probe.echo", arguments: ["n": .init(integerLiteral: Int64(index))]).json["n"]
                    == .init(integerLiteral: Int64(index)))
        }
        // One call at a time, each handed to the thread that answered the last one: most are answered before
        // their caller suspends (one the plugin thread missed, on a loaded machine, suspends and is answered as
        // usual).
        try await Fixtures.waitUntil("a lone call is answered awake", within: .seconds(60)) {
            for _ in 0..<200 { _ = try await host.call("probe.echo", arguments: [:]) }
            return host.callsAnsweredAwake > 0
        }
        #expect(host.executor.scheduler.unansweredCount == 0)
    }

    @Test func anAwakeWaitIsNeverLongerThanOneMillisecond() {
        #expect(AwakeWaiting(.seconds(5)).nanoseconds == 1_000_000)
        #expect(AwakeWaiting(.microseconds(20)).nanoseconds == 20_000)
        #expect(AwakeWaiting(.zero).nanoseconds == 0)
    }

    @Test func aCallThatIsNotAloneNeverWaitsAwake() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true) { $0.limits.awakeWait = .milliseconds(1) }
        _ = try await host.call("probe.echo", arguments: [:])
        let blocker = Task { await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 60_000])) }
        try await Fixtures.waitUntil("the blocker is running") { host.load.running > 0 }
        try await Fixtures.waitUntil("the blocker's caller has stopped waiting awake") {
            try await host.call("probe.sleep_read", arguments: [:]).json["started"] == 1
        }
        let before = host.callsAnsweredAwake
        for _ in 0..<50 {
            #expect(try await host.call("probe.echo", arguments: ["x": 1]).json == ["x": 1])
        }
        #expect(
            host.callsAnsweredAwake == before,
            "with another call unanswered, every caller suspends (no busy wait under load)")
        blocker.cancel()
        _ = await blocker.value
        // Alone again: the caller may wait awake. Calls back to back, so the plugin thread is still awake (it
        // parks 50 µs after its last call) when the next one comes.
        try await Fixtures.waitUntil("a lone call is answered awake", within: .seconds(60)) {
            for _ in 0..<200 { _ = try await host.call("probe.echo", arguments: [:]) }
            return host.callsAnsweredAwake > before
        }
    }

    @Test func everyCallIsCountedUntilItsCallerIsAnswered() async throws {
        // The count that tells a lone call must come back to zero whatever ended each call: success, a timeout
        // while queued and while running, a refusal, a cancellation, a plugin's error.
        let (host, _) = try await Fixtures.probeHost(isolated: true) {
            $0.limits.maxConcurrentCalls = 1
            $0.limits.maxQueuedCalls = 1
        }
        let scheduler = host.executor.scheduler
        let blocker = Task { await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 60_000])) }
        try await Fixtures.waitUntil("the blocker is running") { host.load.running > 0 }
        #expect(scheduler.unansweredCount == 1)
        let timedOutInQueue = await host.call(ToolCall(tool: "probe.echo", timeout: .milliseconds(50)))
        #expect({ if case .failure(let e) = timedOutInQueue { e.code == .timeout } else { false } }())
        let queued = Task { await host.call(ToolCall(tool: "probe.echo", arguments: ["q": 1])) }
        try await waitForQueue(host, 1)
        let refused = await host.call(ToolCall(tool: "probe.echo"))
        #expect({ if case .failure(let e) = refused { e.code == .overloaded } else { false } }())
        #expect(scheduler.unansweredCount == 2, "the blocker and the queued call")
        blocker.cancel()
        let cancelled = await blocker.value
        #expect({ if case .failure(let e) = cancelled { e.code == .cancelled } else { false } }())
        #expect((try? await queued.value.get().json) == ["q": 1])
        let timedOut = await host.call(
            ToolCall(tool: "probe.sleep", arguments: ["ms": 10_000], timeout: .milliseconds(50)))
        #expect({ if case .failure(let e) = timedOut { e.code == .timeout } else { false } }())
        let failed = await host.call(ToolCall(tool: "probe.fail"))
        #expect({ if case .failure(let e) = failed { e.code == .pluginError } else { false } }())
        #expect(scheduler.unansweredCount == 0)
    }

    @Test func transientErrorsAreRetriedUpToTheDeclaredAttempts() async throws {
        let manifest = policy(["flaky": ["deterministic": true, "retries": ["maxAttempts": 3, "initialBackoffMs": 1]]])
        let (host, _) = try await Fixtures.probeHost(manifest: manifest, isolated: true)
        let result = try await host.call("probe.flaky", arguments: ["key": "a", "failures": 2])
        #expect(result.attempts == 3)
        #expect(result.json == ["calls": 3])
        let exhausted = await host.call(ToolCall(tool: "probe.flaky", arguments: ["key": "b", "failures": 5]))
        guard case .failure(let error) = exhausted else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .pluginError)
        #expect(error.message.contains("after 3 attempts"))
        #expect(error.message.contains("busy, try again"))
        #expect(try await host.call("probe.flaky", arguments: ["key": "b", "failures": 0]).json == ["calls": 4])
    }

    @Test func idempotentToolsAreRetriedToo() async throws {
        let manifest = policy(["flaky": ["idempotent": true, "retries": ["maxAttempts": 2, "initialBackoffMs": 1]]])
        let (host, _) = try await Fixtures.probeHost(manifest: manifest, isolated: true)
        #expect(try await host.call("probe.flaky", arguments: ["key": "i", "failures": 1]).attempts == 2)
    }

    @Test func toolsThatAreNeitherDeterministicNorIdempotentAreNotRetried() async throws {
        let manifest = policy(["flaky": ["retries": ["maxAttempts": 5, "initialBackoffMs": 1]]])
        let (host, _) = try await Fixtures.probeHost(manifest: manifest, isolated: true)
        let result = await host.call(ToolCall(tool: "probe.flaky", arguments: ["key": "n", "failures": 1]))
        guard case .failure(let error) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.message.contains("not retried"))
        #expect(try await host.call("probe.flaky", arguments: ["key": "n", "failures": 0]).json == ["calls": 2])
    }

    @Test func retriesNeverPassTheDeadline() async throws {
        // Backoffs of 400, 800, 1600, 3200, 6400, 12800 ms, each jittered to 0.5–1.5×, within a 12 s deadline: at
        // least one retry fits even on a loaded machine (the first backoff is at most 600 ms), and never a seventh
        // attempt (the first six backoffs take at least 12.6 s). Without the deadline check all 10 attempts would be
        // made. (RetryPolicyTests checks the arithmetic with an injected clock; this checks the executor uses it.)
        let manifest = policy([
            "flaky": ["deterministic": true, "retries": ["maxAttempts": 10, "initialBackoffMs": 400]]
        ])
        let (host, _) = try await Fixtures.probeHost(manifest: manifest, isolated: true)
        _ = try await host.call("probe.flaky", arguments: ["key": "warm", "failures": 0])
        let result = await host.call(
            ToolCall(tool: "probe.flaky", arguments: ["key": "d", "failures": 100], timeout: .seconds(12)))
        guard case .failure(let error) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .pluginError || error.code == .timeout)
        let calls = try await host.call("probe.flaky", arguments: ["key": "d", "failures": 0]).json["calls"]?.intValue
        let attempts = (calls ?? 0) - 1
        #expect((2...6).contains(attempts), "made \(attempts) attempts")
    }

    @Test func invalidArgumentsNameEachOffendingValue() async throws {
        let schema: JSONValue = [
            "type": "object",
            "properties": [
                "n": ["type": "integer", "maximum": 10], "tags": ["type": "array", "items": ["type": "string"]],
            ],
            "required": ["n"],
        ]
        var manifest = Fixtures.probeManifest(tools: Fixtures.probeTools.filter { $0 != "echo" })
        if case .object(var object) = manifest, case .array(var tools) = object["tools"] {
            tools.append(Fixtures.tool("echo", schema: schema))
            object.set("tools", .array(tools))
            manifest = .object(object)
        }
        let (host, _) = try await Fixtures.probeHost(manifest: manifest)
        let result = await host.call(ToolCall(tool: "probe.echo", arguments: ["n": 11, "tags": ["a", 2]]))
        guard case .failure(let error) = result else {
            Issue.record("expected invalid_arguments")
            return
        }
        #expect(error.code == .invalidArguments)
        #expect(Set(error.violations.map(\.path)) == ["/n", "/tags/1"])
        #expect(error.message.contains("/tags/1"))
    }

    @Test func theToolMayRejectItsArguments() async throws {
        let (host, _) = try await Fixtures.probeHost()
        let result = await host.call(ToolCall(tool: "probe.reject"))
        if case .failure(let error) = result {
            #expect(error.code == .invalidArguments && error.message.contains("x must be even"))
        } else {
            Issue.record("expected invalid_arguments")
        }
    }

    @Test func resultsThatAreNotJSONOrTooLargeAreRefused() async throws {
        let (host, _) = try await Fixtures.probeHost { $0.maxOutputBytes = 10_000 }
        let bad = await host.call(ToolCall(tool: "probe.bad_json"))
        if case .failure(let error) = bad {
            #expect(error.code == .pluginError && error.message.contains("not valid UTF-8 JSON"))
        } else {
            Issue.record("expected plugin_error")
        }
        let silent = await host.call(ToolCall(tool: "probe.silent"))
        if case .failure(let error) = silent {
            #expect(error.code == .pluginError && error.message.contains("TOOLHOST_OK without writing a result"))
        } else {
            Issue.record("expected plugin_error")
        }
        let big = await host.call(ToolCall(tool: "probe.big", arguments: ["bytes": 50_000]))
        if case .failure(let error) = big {
            #expect(error.code == .pluginError)
        } else {
            Issue.record("expected plugin_error")
        }
        let fits = try await host.call("probe.big", arguments: ["bytes": 5_000])
        #expect(fits.output.count == 5_002)
    }

    @Test func aCallPointerKeptPastItsCallIsRefused() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true)
        _ = try await host.call("probe.stale", arguments: [:])
        let second = try await host.call("probe.stale", arguments: [:])
        #expect(second.json == ["staleWrite": -1, "staleCancelled": 1, "staleProgress": -1])
    }

    @Test func statisticsCountEachOutcome() async throws {
        let (host, _) = try await Fixtures.probeHost(manifest: policy(["echo": ["deterministic": true]]))
        _ = await host.call(ToolCall(tool: "probe.echo", arguments: ["a": 1]))
        _ = await host.call(ToolCall(tool: "probe.echo", arguments: ["a": 1]))
        _ = await host.call(ToolCall(tool: "probe.fail"))
        _ = await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 1000], timeout: .milliseconds(20)))
        let stats = Dictionary(uniqueKeysWithValues: host.statisticsSnapshot().map { ($0.tool, $0) })
        let echo = try #require(stats["probe.echo"])
        #expect(echo.calls == 2 && echo.successes == 2 && echo.cacheHits == 1 && echo.cacheMisses == 1)
        #expect(echo.latency.p50 > 0)
        #expect(stats["probe.fail"]?.errors == ["plugin_error": 1])
        #expect(stats["probe.sleep"]?.timeouts == 1)
    }
}
