/// A call's deadline and where it came from; the description is only built when a call times out.
struct CallDeadline: Sendable, CustomStringConvertible {
    enum Source: Sendable {
        case hostDefault, tool, operatorCap, operatorToolCap, call
    }

    /// CLOCK_MONOTONIC nanoseconds; 0 means none.
    let nanoseconds: UInt64
    /// The timeout that set the deadline, in nanoseconds.
    let limitNanoseconds: Int64
    let source: Source

    /// The timeout that set the deadline.
    var limit: Duration { .nanoseconds(limitNanoseconds) }

    /// The earliest of the per-call timeout, the operator's caps for the plugin and the tool, the tool's `timeoutMs` and the
    /// host default, in integer nanoseconds (the host default converted once, by the caller: a call reads no
    /// `Duration` components, each a 128-bit division).
    /// - Parameters:
    ///   - now: when the call started (the caller's timeout and the host default count from here).
    ///   - toolClockStart: when the tool's `timeoutMs` and the operator's cap start counting: the call's start,
    ///     or, for the first call of a plugin, the end of its load (a cold load does not eat the tool's time; the
    ///     caller's own timeout still bounds it).
    init(
        hostDefaultNanoseconds: Int64, toolTimeoutMs: Int?, operatorTimeoutMs: Int? = nil,
        operatorToolTimeoutMs: Int? = nil, callTimeout: Duration?, now: UInt64 = monotonicNanoseconds(),
        toolClockStart: UInt64? = nil
    ) {
        let toolStart = toolClockStart ?? now
        var at = now &+ UInt64(max(0, hostDefaultNanoseconds))
        var limit = hostDefaultNanoseconds
        var source = Source.hostDefault
        func consider(_ nanoseconds: Int64, from start: UInt64, _ candidate: Source) {
            let candidateAt = start &+ UInt64(max(0, nanoseconds))
            if candidateAt < at {
                at = candidateAt
                limit = nanoseconds
                source = candidate
            }
        }
        if let ms = toolTimeoutMs { consider(Int64(ms) * 1_000_000, from: toolStart, .tool) }
        if let ms = operatorTimeoutMs { consider(Int64(ms) * 1_000_000, from: toolStart, .operatorCap) }
        if let ms = operatorToolTimeoutMs { consider(Int64(ms) * 1_000_000, from: toolStart, .operatorToolCap) }
        if let callTimeout { consider(Self.nanoseconds(callTimeout), from: now, .call) }
        self.limitNanoseconds = limit
        self.source = source
        self.nanoseconds = at
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
            case .operatorToolCap: "the operator's timeoutMs for this tool"
            case .call: "the call's timeout"
            }
        return "\(shown) (\(origin))"
    }
}
