/// A call's deadline and where it came from; the description is only built when a call times out.
struct CallDeadline: Sendable, CustomStringConvertible {
    enum Source: Sendable {
        case hostDefault, tool, operatorCap, call
    }

    /// CLOCK_MONOTONIC nanoseconds; 0 means none.
    let nanoseconds: UInt64
    let limit: Duration
    let source: Source

    /// The smallest of the per-call timeout, the operator's cap for the plugin, the tool's `timeoutMs` and the
    /// host default.
    init(
        hostDefault: Duration, toolTimeoutMs: Int?, operatorTimeoutMs: Int? = nil, callTimeout: Duration?,
        now: UInt64 = monotonicNanoseconds()
    ) {
        var limit = hostDefault
        var source = Source.hostDefault
        if let ms = toolTimeoutMs, Duration.milliseconds(ms) < limit {
            limit = .milliseconds(ms)
            source = .tool
        }
        if let ms = operatorTimeoutMs, Duration.milliseconds(ms) < limit {
            limit = .milliseconds(ms)
            source = .operatorCap
        }
        if let callTimeout, callTimeout < limit {
            limit = callTimeout
            source = .call
        }
        let span = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
        self.limit = limit
        self.source = source
        self.nanoseconds = now &+ UInt64(max(0, span))
    }

    /// "100 ms (the call's timeout)".
    var description: String {
        let milliseconds =
            Double(limit.components.seconds) * 1000 + Double(limit.components.attoseconds) / 1_000_000_000_000_000
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
