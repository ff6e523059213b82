import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// A deadline is computed from numbers that came from outside (a caller, a manifest, an operator): however large,
/// they saturate instead of trapping the process.
@Suite struct CallDeadlineTests {
    @Test func durationsSaturateInsteadOfOverflowing() {
        #expect(CallDeadline.nanoseconds(.seconds(Int64.max)) == .max)
        #expect(CallDeadline.nanoseconds(.milliseconds(9_223_372_036_855)) == .max)
        #expect(CallDeadline.nanoseconds(.seconds(-5)) == 0)
        #expect(CallDeadline.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
        #expect(CallDeadline.nanoseconds(milliseconds: .max) == .max)
        #expect(CallDeadline.nanoseconds(milliseconds: 86_400_000) == 86_400_000_000_000)
        #expect(CallDeadline.adding(.max, to: .max - 5) == .max)
        #expect(CallDeadline.adding(10, to: 5) == 15)
    }

    @Test func hugeTimeoutsLoseToTheHostDefault() {
        let now: UInt64 = 1_000
        let deadline = CallDeadline(
            hostDefaultNanoseconds: 30_000_000_000, toolTimeoutMs: .max, operatorTimeoutMs: .max,
            operatorToolTimeoutMs: .max, callTimeout: .seconds(Int64.max), now: now)
        #expect(deadline.nanoseconds == now + 30_000_000_000)
        #expect(deadline.description == "30000 ms (the host's default timeout)")
        // A deadline past the end of the clock never comes; it does not wrap round to one already passed.
        let far = CallDeadline(hostDefaultNanoseconds: .max, toolTimeoutMs: nil, callTimeout: nil, now: .max - 1)
        #expect(far.nanoseconds == .max)
    }

    /// The host's own guard, for callers that build a `ToolCall` in code.
    @Test(
        arguments: [
            (Duration.seconds(9_223_372_036), Int?.none, "timeout"),
            (Duration.zero, Int?.none, "timeout"),
            (Duration?.none, Int?.some(1001), "priority must be an integer in -1000...1000"),
        ] as [(Duration?, Int?, String)])
    func theHostRefusesOutOfRangeCalls(timeout: Duration?, priority: Int?, message: String) async throws {
        let (host, _) = try await Fixtures.probeHost()
        let outcome = await host.call(
            ToolCall(tool: "probe.echo", arguments: [:], priority: priority, timeout: timeout))
        guard case .failure(let error) = outcome else {
            Issue.record("an out-of-range call ran")
            return
        }
        #expect(error.code == .invalidArguments)
        #expect(error.message.contains(message), "\(error.message)")
        #expect(try await host.call("probe.echo", arguments: ["a": 1]).json == ["a": 1])
    }
}
