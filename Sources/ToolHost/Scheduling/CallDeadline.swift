/// A call's deadline and where it came from; the description is only built when a call times out.
struct CallDeadline: Sendable, CustomStringConvertible {
    enum Source: Sendable {
        case hostDefault, tool, operatorCap, call
    }

    /// CLOCK_MONOTONIC nanoseconds; 0 means none.
    let nanoseconds: UInt64
    /// The timeout that set the deadline, in nanoseconds.
    let limitNanoseconds: Int64
    let source: Source

    /// The timeout that set the deadline.
    var limit: Duration { .nanoseconds(limitNanoseconds) }

    /// The smallest of the per-call timeout, the operator's cap for the plugin, the tool's `timeoutMs` and the
    /// host default.
    ///
    /// In integer nanoseconds (the host default converted once, by the caller): a call reads no `Duration`
    /// components, each a 128-bit division.
    init(
        hostDefaultNanoseconds: Int64, toolTimeoutMs: Int?, operatorTimeoutMs: Int? = nil, callTimeout: Duration?,
        now: UInt64 = monotonicNanoseconds()
    ) {
        var limit = hostDefaultNanoseconds
        var source = Source.hostDefault
        if let ms = toolTimeoutMs, Int64(ms) * 1_000_000 < limit {
            limit = Int64(ms) * 1_000_000
            source = .tool
        }
        if let ms = operatorTimeoutMs, Int64(ms) * 1_000_000 < limit {
            limit = Int64(ms) * 1_000_000
            source = .operatorCap
        }
        if let callTimeout, callTimeout < .nanoseconds(limit) {
            limit = Self.nanoseconds(callTimeout)
            source = .call
        }
        self.limitNanoseconds = limit
        self.source = source
        self.nanoseconds = now &+ UInt64(max(0, limit))
    }

    /// A duration in whole nanoseconds (rounded towards zero).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    /// "100 ms (the call's timeout)".
    var description: String {
        let milliseconds = Double(limitNanoseconds) / 1_000_000
        let shown = milliseconds == milliseconds.rounded() ? "\(Int64(milliseconds)) ms" : "\(milliseconds) ms"
        let origin =
            switch source {
            case .hostDefault: "the host's default timeout"
            case .tool: "its timeoutMs"
            case .operatorCap: "the operator's timeoutMs for its plugin"
            case .call: "the call's timeout"
            }
        return "\(shown) (\(origin))"
    }
}
