/// A call's deadline and where it came from; the description is only built when a call times out.
struct CallDeadline: Sendable, CustomStringConvertible {
    enum Source: Sendable {
        case hostDefault, tool, operatorCap, call
    }

    /// CLOCK_MONOTONIC nanoseconds; 0 means none.
    let nanoseconds: UInt64
    let limit: Duration
    let source: Source

    /// The earliest of the per-call timeout, the operator's cap for the plugin, the tool's `timeoutMs` and the
    /// host default.
    /// - Parameters:
    ///   - now: when the call started (the caller's timeout and the host default count from here).
    ///   - toolClockStart: when the tool's `timeoutMs` and the operator's cap start counting: the call's start,
    ///     or, for the first call of a plugin, the end of its load (a cold load does not eat the tool's time; the
    ///     caller's own timeout still bounds it).
    init(
        hostDefault: Duration, toolTimeoutMs: Int?, operatorTimeoutMs: Int? = nil, callTimeout: Duration?,
        now: UInt64 = monotonicNanoseconds(), toolClockStart: UInt64? = nil
    ) {
        let toolStart = toolClockStart ?? now
        var best = (at: now &+ Self.nanoseconds(hostDefault), limit: hostDefault, source: Source.hostDefault)
        func consider(_ limit: Duration, from start: UInt64, _ source: Source) {
            let at = start &+ Self.nanoseconds(limit)
            if at < best.at { best = (at, limit, source) }
        }
        if let ms = toolTimeoutMs { consider(.milliseconds(ms), from: toolStart, .tool) }
        if let ms = operatorTimeoutMs { consider(.milliseconds(ms), from: toolStart, .operatorCap) }
        if let callTimeout { consider(callTimeout, from: now, .call) }
        self.limit = best.limit
        self.source = best.source
        self.nanoseconds = best.at
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(0, duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000))
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
