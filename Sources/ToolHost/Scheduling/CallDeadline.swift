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
        var at = Self.adding(hostDefaultNanoseconds, to: now)
        var limit = hostDefaultNanoseconds
        var source = Source.hostDefault
        func consider(_ nanoseconds: Int64, from start: UInt64, _ candidate: Source) {
            let candidateAt = Self.adding(nanoseconds, to: start)
            if candidateAt < at {
                at = candidateAt
                limit = nanoseconds
                source = candidate
            }
        }
        if let ms = toolTimeoutMs { consider(Self.nanoseconds(milliseconds: ms), from: toolStart, .tool) }
        if let ms = operatorTimeoutMs { consider(Self.nanoseconds(milliseconds: ms), from: toolStart, .operatorCap) }
        if let ms = operatorToolTimeoutMs {
            consider(Self.nanoseconds(milliseconds: ms), from: toolStart, .operatorToolCap)
        }
        if let callTimeout { consider(Self.nanoseconds(callTimeout), from: now, .call) }
        self.limitNanoseconds = limit
        self.source = source
        self.nanoseconds = at
    }

    /// A duration in whole nanoseconds (rounded towards zero), saturating at `Int64.max` (about 292 years) and
    /// at 0 for a negative duration: no timeout, however it was written, can trap.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, carry) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return carry ? .max : sum
    }

    /// Milliseconds in nanoseconds, saturating like ``nanoseconds(_:)``.
    static func nanoseconds(milliseconds: Int) -> Int64 {
        guard milliseconds > 0 else { return 0 }
        let (product, overflow) = Int64(milliseconds).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? .max : product
    }

    /// `start` plus a non-negative span, saturating at `UInt64.max` (a deadline that never comes) instead of
    /// wrapping round to one that has already passed.
    static func adding(_ nanoseconds: Int64, to start: UInt64) -> UInt64 {
        let (sum, overflow) = start.addingReportingOverflow(UInt64(max(0, nanoseconds)))
        return overflow ? .max : sum
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
