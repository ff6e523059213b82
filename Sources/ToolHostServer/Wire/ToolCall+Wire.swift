import ToolHost
import ToolHostJSON

/// Calls as every front end reads them: one rule set for `toolhost call` and `toolhost batch`, the REST API and MCP.
///
/// A call object is `{"tool": "<plugin>.<tool>", "arguments": {…}?, "priority": n?, "timeoutMs": n?,
/// "maxResultBytes": n?}`, or with `"capability": "<name>"` instead of `tool` a call by capability, which may give
/// `"complexity": x` (a number in ``ToolCall/complexityRange``); `timeoutMs` is an integer in ``ToolCall/timeoutMillisecondsRange`` (1 ms to 24 h),
/// `priority` one in ``ToolCall/priorityRange`` and `maxResultBytes` one in ``ToolCall/resultBudgetRange``, the
/// ranges a manifest allows. Anything else is refused with `invalid_arguments`
/// naming the field and its range: a front end answers 400 (HTTP), an error line (`toolhost batch`) or exit 64
/// (a flag of `toolhost call`).
extension ToolCall {
    /// The fields of a call object.
    public static let wireFields = [
        "tool", "capability", "arguments", "priority", "timeoutMs", "maxResultBytes", "complexity",
    ]

    /// Reads a call object (a `toolhost batch` line, an item of `POST /v1/batch`).
    /// - Parameter value: the parsed object.
    /// - Throws: `invalid_arguments` naming the field that is missing, unknown, of the wrong type or out of range.
    public init(wire value: JSONValue) throws(ToolError) {
        let object = try Self.wireObject(value, fields: Self.wireFields, what: "call")
        let capability = object["capability"]?.stringValue
        guard let tool = capability ?? object["tool"]?.stringValue else {
            throw ToolError(
                .invalidArguments,
                "a call needs \"tool\": a string naming <plugin>.<tool> (or \"capability\": a capability's name)")
        }
        if capability != nil, object["tool"] != nil {
            throw ToolError(
                .invalidArguments, "a call names either \"tool\" or \"capability\", not both: the host picks the tool")
        }
        if capability == nil, object["complexity"] != nil {
            throw ToolError(.invalidArguments, "\"complexity\" is for a call by \"capability\": it ranks providers")
        }
        let arguments = object["arguments"] ?? [:]
        guard case .object = arguments else {
            throw ToolError(.invalidArguments, "\"arguments\" must be a JSON object, not \(arguments.typeName)")
        }
        self.init(
            tool: tool, arguments: arguments,
            priority: try object["priority"].map { raw throws(ToolError) in
                try Self.priority(raw.intValue, field: "priority", given: raw.serializedString)
            },
            timeout: try object["timeoutMs"].map { raw throws(ToolError) in
                try Self.timeout(milliseconds: raw.intValue, field: "timeoutMs", given: raw.serializedString)
            },
            maxResultBytes: try object["maxResultBytes"].map { raw throws(ToolError) in
                try Self.resultBudget(raw.intValue, field: "maxResultBytes", given: raw.serializedString)
            })
        if capability != nil {
            byCapability = true
            complexity = try object["complexity"].map { raw throws(ToolError) in
                try Self.complexity(raw.doubleValue, field: "complexity", given: raw.serializedString)
            }
        }
    }

    /// Reads a task complexity written as text (a query parameter, a header, a flag).
    /// - Throws: `invalid_arguments` naming the field and its range.
    public static func complexity(text: String, field: String) throws(ToolError) -> Double {
        try complexity(Double(text), field: field, given: text)
    }

    /// `value` as an object with no member but `fields`.
    /// - Parameter what: the object's name in the messages ("call", "task").
    /// - Throws: `invalid_arguments` naming what it is instead, or the unknown member and the known ones.
    static func wireObject(_ value: JSONValue, fields: [String], what: String) throws(ToolError) -> JSONObject {
        guard case .object(let object) = value else {
            throw ToolError(.invalidArguments, "a \(what) must be a JSON object, not \(value.typeName)")
        }
        for key in object.keys where !fields.contains(key) {
            throw ToolError(
                .invalidArguments,
                "unknown field \"\(key)\" in a \(what) (known: \(fields.joined(separator: ", ")))")
        }
        return object
    }

    /// Reads a timeout written as text (a query parameter, a header, a flag).
    /// - Parameters:
    ///   - text: what the caller wrote.
    ///   - field: how the caller named it, for the message ("query parameter timeoutMs").
    /// - Throws: `invalid_arguments` naming the field and its range.
    public static func timeout(text: String, field: String) throws(ToolError) -> Duration {
        try timeout(milliseconds: Int64(text), field: field, given: text)
    }

    /// Reads a priority written as text (a query parameter, a header, a flag).
    /// - Throws: `invalid_arguments` naming the field and its range.
    public static func priority(text: String, field: String) throws(ToolError) -> Int {
        try priority(Int64(text), field: field, given: text)
    }
}
