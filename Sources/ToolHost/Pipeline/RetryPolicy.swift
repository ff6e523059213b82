import CToolHost

/// When a tool's attempt that failed transiently is tried again, and what a plugin's status means for its caller.
///
/// Only a deterministic or idempotent tool is retried (the manifest's `retries.maxAttempts`, at least the host's
/// default), after a backoff that starts at `retries.initialBackoffMs`, doubles each time and is jittered to
/// 0.5–1.5×; never when the next attempt would start past the call's deadline, or the call was cancelled.
struct RetryPolicy {
    /// Whether the tool may be run again with the same arguments.
    let retryable: Bool
    /// Attempts in all.
    let maxAttempts: Int
    private var backoff: Duration

    init(manifest: ToolManifest, defaultMaxAttempts: Int) {
        retryable = manifest.deterministic || manifest.idempotent
        maxAttempts = retryable ? max(manifest.retries.maxAttempts, defaultMaxAttempts) : 1
        backoff = .milliseconds(manifest.retries.initialBackoffMs)
    }

    /// The wait before the next attempt after attempt number `attempt` failed transiently.
    /// - Parameters:
    ///   - deadline: the call's deadline (monotonic nanoseconds).
    ///   - now: the monotonic clock now.
    ///   - jitter: the factor applied to the backoff (0.5–1.5; injected by tests).
    /// - Returns: nil when there is no next attempt.
    mutating func nextWait(
        after attempt: Int, deadline: UInt64, now: UInt64, jitter: Double = .random(in: 0.5...1.5)
    ) -> Duration? {
        let wait = backoff * jitter
        let wakeAt = now &+ UInt64(max(0, CallDeadline.nanoseconds(wait)))
        guard attempt < maxAttempts, wakeAt < deadline, !Task.isCancelled else { return nil }
        backoff *= 2
        return wait
    }

    /// The error a plugin's status other than `TOOLHOST_OK` means.
    /// - Parameters:
    ///   - message: what the plugin wrote with `write_error`, if anything.
    ///   - attempts: how many attempts were made.
    static func error(status: Int32, message: String?, tool: String, attempts: Int, retryable: Bool) -> ToolError {
        // A plugin that returned an error status without write_error: say so, and how to fix it, instead of an
        // error with no reason in it.
        let name =
            switch status {
            case Int32(TOOLHOST_ERR_INVALID_ARGUMENTS.rawValue): "TOOLHOST_ERR_INVALID_ARGUMENTS"
            case Int32(TOOLHOST_ERR_TRANSIENT.rawValue): "TOOLHOST_ERR_TRANSIENT"
            case Int32(TOOLHOST_ERR_FAILED.rawValue): "TOOLHOST_ERR_FAILED"
            default: "it"
            }
        let said =
            message.flatMap { $0.isEmpty ? nil : ": \($0)" }
            ?? " (\(name == "it" ? "it came" : "it returned \(name)") without a message: the plugin should call write_error with the reason before "
            + "returning an error status)"
        switch status {
        case Int32(TOOLHOST_ERR_INVALID_ARGUMENTS.rawValue):
            return ToolError(.invalidArguments, "tool '\(tool)' rejected its arguments\(said)")
        case Int32(TOOLHOST_ERR_TRANSIENT.rawValue):
            let tries = attempts > 1 ? " after \(attempts) attempts" : ""
            let why = retryable ? "" : " (not retried: the tool is neither deterministic nor idempotent)"
            var error = ToolError(.pluginError, "tool '\(tool)' failed transiently\(tries)\(said)\(why)")
            error.isTransient = true
            return error
        case Int32(TOOLHOST_ERR_FAILED.rawValue):
            return ToolError(.pluginError, "tool '\(tool)' failed\(said)")
        default:
            return ToolError(.pluginError, "tool '\(tool)' returned the unknown status \(status)\(said)")
        }
    }
}
