import Instrumentation
import ToolHostJSON

/// A call of a tool: what a front end hands to `ToolHost`.
public struct ToolCall: Sendable {
    /// `<plugin>.<tool>`, or with ``byCapability`` the name of a capability.
    public var tool: String
    /// Whether ``tool`` names a capability: the host picks the best of its providers and fails over to the next.
    public var byCapability = false
    /// For a call by capability: how demanding the task is, a factor on each provider's expected time in the
    /// score (default 1); within ``complexityRange``.
    public var complexity: Double?
    /// The arguments object.
    public var arguments: JSONValue
    /// Overrides the tool's priority (higher runs first when calls wait); within ``priorityRange``.
    public var priority: Int?
    /// Caps the call's deadline (the tool's `timeoutMs` and the host default still apply); within
    /// ``timeoutMillisecondsRange``.
    public var timeout: Duration?
    /// The caller's budget for the result, in bytes (over the tool's default): a front end shapes a larger result
    /// to fit and keeps the whole for retrieval. Within ``resultBudgetRange``. Not a memory limit.
    public var maxResultBytes: Int?
    /// The agent that made the call (an MCP client's name, a named token's agent, the CLI's `--agent`): counted in
    /// the per-agent statistics and named in log lines; nil for a call made in code that names no one.
    public var agent: String?
    /// Follows the call's progress (what its handler reports through `report_progress`): the host ends it when the
    /// call returns. Nil: no one follows it (reports are dropped at the plugin thread).
    public var progress: CallProgress?
    /// The caller's trace (from a W3C `traceparent`, ``ToolHost/traceContext(traceparent:tracestate:)``): the call's
    /// span is made a child of it. Nil: the task's current context, if any. Ignored when the host has no tracer.
    public var traceContext: InstrumentationContext?

    public init(
        tool: String, arguments: JSONValue = [:], priority: Int? = nil, timeout: Duration? = nil,
        maxResultBytes: Int? = nil, agent: String? = nil
    ) {
        self.tool = tool
        self.arguments = arguments
        self.priority = priority
        self.timeout = timeout
        self.maxResultBytes = maxResultBytes
        self.agent = agent
    }

    /// What an agent's name may be: 1 to 64 characters, letters, digits and `_ . - : @ /`, starting with a letter
    /// or a digit (so it fits a log line, a metric label and a URL without escaping).
    public static func isValidAgentName(_ name: some StringProtocol) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= 64, Self.isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { Self.isAlphanumeric($0) || "_.-:@/".utf8.contains($0) }
    }

    /// An agent name made of any text (an MCP client's `clientInfo.name`): leading characters that cannot start a
    /// name dropped, any other character a name may not hold replaced by `-`, trailing `-` dropped, cut to 64.
    /// - Returns: nil when nothing is left.
    public static func agentName(from text: String) -> String? {
        var bytes: [UInt8] = []
        for byte in text.utf8 where bytes.count < 64 {
            if bytes.isEmpty && !isAlphanumeric(byte) { continue }
            bytes.append(isAlphanumeric(byte) || "_.-:@/".utf8.contains(byte) ? byte : UInt8(ascii: "-"))
        }
        while bytes.last == UInt8(ascii: "-") { bytes.removeLast() }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
    }

    /// A call of the best provider of `capability`.
    public init(
        capability: String, arguments: JSONValue = [:], priority: Int? = nil, timeout: Duration? = nil,
        complexity: Double? = nil, maxResultBytes: Int? = nil, agent: String? = nil
    ) {
        self.init(
            tool: capability, arguments: arguments, priority: priority, timeout: timeout,
            maxResultBytes: maxResultBytes, agent: agent)
        self.byCapability = true
        self.complexity = complexity
    }

    /// The task complexities a caller may give: a factor on each provider's expected time.
    public static let complexityRange: ClosedRange<Double> = 0.01...1000

    /// A caller's task complexity, checked against ``complexityRange``.
    /// - Parameters:
    ///   - value: the number given, if it was a number at all.
    ///   - field: how the caller named it, for the message.
    ///   - given: the value as the caller wrote it, for the message.
    /// - Throws: `invalid_arguments` naming the field, the range and the value.
    public static func complexity(_ value: Double?, field: String, given: String) throws(ToolError) -> Double {
        guard let value, complexityRange.contains(value) else {
            let shown = given.count > 40 ? given.prefix(40) + "…" : given[...]
            throw ToolError(
                .invalidArguments,
                "\(field) must be a number in \(complexityRange.lowerBound)...\(complexityRange.upperBound), "
                    + "not '\(shown)'")
        }
        return value
    }

    /// The timeouts a caller may ask for, in milliseconds: 1 ms to 24 h, the range of a manifest's `timeoutMs`.
    public static let timeoutMillisecondsRange: ClosedRange<Int64> = 1...86_400_000
    /// The priorities a caller may ask for: the range of a manifest's `priority`.
    public static let priorityRange: ClosedRange<Int64> = -1000...1000
    /// The result budgets a caller may ask for, in bytes: 1 KiB (the shaper's smallest, ``JSONShaper/minimumBudget``)
    /// to 1 GiB, the range of a manifest's `maxResultBytes`.
    public static let resultBudgetRange: ClosedRange<Int64> = Int64(JSONShaper.minimumBudget)...(1 << 30)

    /// A caller's result budget in bytes, checked against ``resultBudgetRange``.
    /// - Throws: `invalid_arguments` naming the field, the range and the value.
    public static func resultBudget(_ value: Int64?, field: String, given: String) throws(ToolError) -> Int {
        guard let value, resultBudgetRange.contains(value) else {
            throw ToolError(.invalidArguments, rangeMessage(field, resultBudgetRange, "bytes", given))
        }
        return Int(value)
    }

    /// Reads a result budget written as text (a query parameter, a header, a flag).
    /// - Throws: `invalid_arguments` naming the field and its range.
    public static func resultBudget(text: String, field: String) throws(ToolError) -> Int {
        try resultBudget(Int64(text), field: field, given: text)
    }

    /// A caller's timeout in milliseconds, checked against ``timeoutMillisecondsRange``.
    /// - Parameters:
    ///   - milliseconds: the number given, if it was an integer at all.
    ///   - field: how the caller named it ("timeoutMs", "query parameter timeoutMs", "--timeout-ms"), for the message.
    ///   - given: the value as the caller wrote it, for the message.
    /// - Throws: `invalid_arguments` naming the field, the range and the value.
    public static func timeout(milliseconds: Int64?, field: String, given: String) throws(ToolError) -> Duration {
        guard let milliseconds, timeoutMillisecondsRange.contains(milliseconds) else {
            throw ToolError(.invalidArguments, rangeMessage(field, timeoutMillisecondsRange, "milliseconds", given))
        }
        return .milliseconds(milliseconds)
    }

    /// A caller's priority, checked against ``priorityRange``.
    /// - Throws: `invalid_arguments` naming the field, the range and the value.
    public static func priority(_ value: Int64?, field: String, given: String) throws(ToolError) -> Int {
        guard let value, priorityRange.contains(value) else {
            throw ToolError(.invalidArguments, rangeMessage(field, priorityRange, nil, given))
        }
        return Int(value)
    }

    /// Checks the numbers of a call built in code (front ends check them where they enter, with their own field
    /// names; this is the host's own guard).
    /// - Throws: `invalid_arguments` naming the field and its range.
    static func checkRanges(priority: Int?, timeout: Duration?, complexity: Double? = nil) throws(ToolError) {
        if let complexity { _ = try Self.complexity(complexity, field: "complexity", given: "\(complexity)") }
        if let timeout, timeout <= .zero || timeout > .milliseconds(Self.timeoutMillisecondsRange.upperBound) {
            throw ToolError(
                .invalidArguments,
                "the call's timeout must be more than 0 and at most \(Self.timeoutMillisecondsRange.upperBound) ms, "
                    + "not \(timeout)")
        }
        if let priority, !Self.priorityRange.contains(Int64(priority)) {
            throw ToolError(.invalidArguments, Self.rangeMessage("priority", Self.priorityRange, nil, "\(priority)"))
        }
    }

    /// "timeoutMs must be an integer in 1...86400000 (milliseconds), not '0'".
    public static func rangeMessage(_ field: String, _ range: ClosedRange<Int64>, _ unit: String?, _ given: String)
        -> String
    {
        let shown = given.count > 40 ? given.prefix(40) + "…" : given[...]
        return "\(field) must be an integer in \(range.lowerBound)...\(range.upperBound)"
            + (unit.map { " (\($0))" } ?? "") + ", not '\(shown)'"
    }
}
