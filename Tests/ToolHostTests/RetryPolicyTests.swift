import CToolHost
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// The retry policy alone, with the jitter and the clock given by the test.
@Suite struct RetryPolicyTests {
    private func tool(_ policy: JSONObject) throws -> ToolManifest {
        let manifest = Fixtures.probeManifest(tools: ["flaky"], toolPolicy: ["flaky": policy])
        return try PluginManifest.parse(manifest.serialized(), file: "test").tools[0]
    }

    @Test func backoffDoublesUntilTheAttemptsAreUsedUp() throws {
        var retry = RetryPolicy(
            manifest: try tool(["deterministic": true, "retries": ["maxAttempts": 4, "initialBackoffMs": 100]]),
            defaultMaxAttempts: 1)
        let farAway: UInt64 = 100_000_000_000
        #expect(retry.nextWait(after: 1, deadline: farAway, now: 0, jitter: 1) == .milliseconds(100))
        #expect(retry.nextWait(after: 2, deadline: farAway, now: 0, jitter: 1) == .milliseconds(200))
        #expect(retry.nextWait(after: 3, deadline: farAway, now: 0, jitter: 0.5) == .milliseconds(200))
        #expect(retry.nextWait(after: 4, deadline: farAway, now: 0, jitter: 1) == nil, "4 attempts in all")
    }

    @Test func noAttemptStartsPastTheDeadline() throws {
        var retry = RetryPolicy(
            manifest: try tool(["idempotent": true, "retries": ["maxAttempts": 10, "initialBackoffMs": 100]]),
            defaultMaxAttempts: 1)
        // 150 ms of backoff would wake exactly at the deadline: no attempt then.
        #expect(retry.nextWait(after: 1, deadline: 1_150_000_000, now: 1_000_000_000, jitter: 1.5) == nil)
        #expect(retry.nextWait(after: 1, deadline: 1_150_000_001, now: 1_000_000_000, jitter: 1.5) != nil)
    }

    @Test func aToolThatIsNeitherDeterministicNorIdempotentIsNeverRetried() throws {
        var retry = RetryPolicy(
            manifest: try tool(["retries": ["maxAttempts": 5, "initialBackoffMs": 1]]), defaultMaxAttempts: 3)
        #expect(!retry.retryable)
        #expect(retry.nextWait(after: 1, deadline: .max, now: 0, jitter: 1) == nil)
        let error = RetryPolicy.error(
            status: Int32(TOOLHOST_ERR_TRANSIENT.rawValue), message: "busy", tool: "p.t", attempts: 1, retryable: false)
        #expect(error.code == .pluginError)
        #expect(
            error.message
                == "tool 'p.t' failed transiently: busy (not retried: the tool is neither deterministic nor idempotent)"
        )
    }

    @Test func eachStatusMapsToItsError() {
        func error(_ status: Int32) -> ToolError {
            RetryPolicy.error(status: status, message: nil, tool: "p.t", attempts: 3, retryable: true)
        }
        #expect(error(Int32(TOOLHOST_ERR_INVALID_ARGUMENTS.rawValue)).code == .invalidArguments)
        // No message from the plugin: the error says so, and what the plugin should do.
        let fix =
            "without a message: the plugin should call write_error with the reason before returning an error status)"
        #expect(
            error(Int32(TOOLHOST_ERR_TRANSIENT.rawValue)).message
                == "tool 'p.t' failed transiently after 3 attempts (it returned TOOLHOST_ERR_TRANSIENT \(fix)")
        #expect(
            error(Int32(TOOLHOST_ERR_FAILED.rawValue)).message
                == "tool 'p.t' failed (it returned TOOLHOST_ERR_FAILED \(fix)")
        #expect(error(77).message == "tool 'p.t' returned the unknown status 77 (it came \(fix)")
    }
}
