import Synchronization
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// Progress through the ABI (1.2): a handler's `report_progress` reaches whoever follows the call, coalesced to the
/// latest, and nothing reaches anyone once the call has ended.
@Suite struct ProgressTests {
    /// The probe in process, or in a worker process (`isolation: process`).
    private func probe(isolated: Bool) async throws -> ToolHost {
        let manifest = Fixtures.probeManifest(overrides: isolated ? ["isolation": "process"] : [:])
        let (host, _) = try await Fixtures.probeHost(manifest: manifest, isolated: true) { configuration in
            configuration.isolation.workerExecutable = Fixtures.binary
        }
        return host
    }

    /// The reports delivered to a front end, in order.
    private final class Delivered: Sendable {
        private let reports = Mutex<[ProgressReport]>([])
        func append(_ report: ProgressReport) { reports.withLock { $0.append(report) } }
        var all: [ProgressReport] { reports.withLock { $0 } }
    }

    @Test(arguments: [false, true])
    func aHandlersReportsReachTheCallerBeforeItsResult(isolated: Bool) async throws {
        let host = try await probe(isolated: isolated)
        let gate = Gate()
        let progress = CallProgress()
        var followed = ToolCall(tool: "probe.progress", arguments: ["count": 3, "total": 3, "gate": gate.argument])
        followed.progress = progress
        let call = followed
        let delivered = Delivered()
        async let outcome = progress.relay(every: .milliseconds(10), to: { delivered.append($0) }) {
            await host.call(call)
        }
        // The call holds at its gate until the last report was delivered: coalescing keeps the latest.
        try await Fixtures.waitUntil("the third report was delivered") { delivered.all.last?.done == 3 }
        gate.open()
        let result = try await outcome.get()
        #expect(result.json == ["reported": 3, "refused": 0])
        #expect(delivered.all.last == ProgressReport(done: 3, total: 3, message: "step 3"))
        #expect(delivered.all.map(\.done) == delivered.all.map(\.done).sorted(), "in the order reported")
        #expect(progress.isEnded, "the host ended the progress when the call returned")
    }

    @Test(arguments: [false, true])
    func aMillionReportsCostTheClientAFewDeliveries(isolated: Bool) async throws {
        let host = try await probe(isolated: isolated)
        let gate = Gate()
        let progress = CallProgress()
        var followed = ToolCall(
            tool: "probe.progress", arguments: ["count": 1_000_000, "total": 1_000_000, "gate": gate.argument])
        followed.progress = progress
        let call = followed
        let delivered = Delivered()
        let interval = Duration.milliseconds(50)
        let clock = ContinuousClock()
        let start = clock.now
        async let outcome = progress.relay(every: interval, to: { delivered.append($0) }) { await host.call(call) }
        try await Fixtures.waitUntil("the last report was delivered") { delivered.all.last?.done == 1_000_000 }
        let elapsed = clock.now - start
        gate.open()
        let result = try await outcome.get()
        #expect(result.json == ["reported": 1_000_000, "refused": 0])
        // At most one delivery per interval, the first at once: however fast the plugin reports.
        let bound = Int(elapsed / interval) + 2
        #expect(delivered.all.count <= bound, "\(delivered.all.count) deliveries in \(elapsed)")
        #expect(delivered.all.count < 1000)
        #expect(delivered.all.last == ProgressReport(done: 1_000_000, total: 1_000_000, message: "step 1000000"))
    }

    @Test(arguments: [false, true])
    func aCallNobodyFollowsTakesReportsAndDropsThem(isolated: Bool) async throws {
        let host = try await probe(isolated: isolated)
        let result = try await host.call("probe.progress", arguments: ["count": 5])
        #expect(result.json == ["reported": 5, "refused": 0])
    }

    @Test func aReportAfterTheCallWasAnsweredIsRefusedAndNotDelivered() async throws {
        let host = try await probe(isolated: false)
        let progress = CallProgress()
        var followed = ToolCall(tool: "probe.progress_late")
        followed.progress = progress
        let call = followed
        let delivered = Delivered()
        // The caller is answered by cancelling it once the first report arrived (not by a short timeout, which a
        // loaded machine can pass before the handler even starts).
        let caller = Task {
            await progress.relay(every: .milliseconds(1), to: { delivered.append($0) }) { await host.call(call) }
        }
        try await Fixtures.waitUntil("the first report arrived") { delivered.all.contains { $0.message == "first" } }
        caller.cancel()
        guard case .failure(let error) = await caller.value else {
            Issue.record("expected the call to be cancelled")
            return
        }
        #expect(error.code == .cancelled)
        // The handler runs on after the caller was answered; its report then gets -1.
        try await Fixtures.waitUntil("the handler reported after its caller was answered") {
            try await host.call("probe.progress_read", arguments: [:]).json["after"] != -2
        }
        #expect(try await host.call("probe.progress_read", arguments: [:]).json == ["first": 0, "after": -1])
        #expect(!delivered.all.contains { $0.message == "late" })
    }

    @Test func aReportIntoAnEndedProgressIsRefused() {
        let progress = CallProgress()
        #expect(progress.report(ProgressReport(done: 1)))
        progress.end()
        #expect(!progress.report(ProgressReport(done: 2)))
    }

    @Test func theLatestReportWinsAndEndingWakesTheFollower() async {
        let progress = CallProgress()
        #expect(progress.report(ProgressReport(done: 1)))
        #expect(progress.report(ProgressReport(done: 2, message: "two")))
        #expect(await progress.next() == ProgressReport(done: 2, message: "two"))
        async let after = progress.next()
        progress.end()
        #expect(await after == nil)
    }

    @Test func aReportsNumbersAndMessageAreChecked() {
        let message = Array(String(repeating: "é", count: 200).utf8)  // 400 bytes, 2 per character
        let report = message.withUnsafeBytes { ProgressReport(done: 1, total: .nan, message: $0) }
        #expect(report?.total == nil, "NaN is an unknown total")
        #expect(report?.message == String(repeating: "é", count: 128), "cut at 256 bytes, on a character boundary")
        let odd = Array(("a" + String(repeating: "é", count: 200)).utf8)
        let cut = odd.withUnsafeBytes { ProgressReport(done: 1, total: -1, message: $0) }
        #expect(cut?.message == "a" + String(repeating: "é", count: 127), "never half a character")
        #expect(ProgressReport(done: .infinity, total: 1, message: nil) == nil)
        #expect(ProgressReport(done: -1, total: 1, message: nil) == nil)
        #expect(ProgressReport(done: 1, total: 4, message: nil)?.fraction == 0.25)
    }
}
