import ToolHost
import ToolHostJSON

extension ToolResult {
    /// The outcome of one call in a batch (`POST /v1/batch`, `toolhost batch`): `{"ok": true, "tool", "result",
    /// "cached", "durationMs", "originalDurationMs"?}` or `{"ok": false, "tool"?, "error": {…}}`. A call by capability
    /// adds `"capability"`, and on success `"provider"` (the tool that served it, as `"tool"`) and `"failedOver"`
    /// (`[{"provider", "error"}]`, the providers that failed before it).
    /// `toolhost batch` puts the input's line number first, as `line`.
    /// - Parameters:
    ///   - outcome: the call's result or error.
    ///   - tool: the tool named by the call, for an error (a result names its own).
    ///   - line: the input line (1-based) the call came from, if any.
    public static func wireJSON(_ outcome: Result<ToolResult, ToolError>, tool: String?, line: Int? = nil)
        -> JSONValue
    {
        wireJSON(outcome, call: tool.map { ToolCall(tool: $0) }, line: line)
    }

    /// The outcome of one call in a batch, named by the call (its tool or capability).
    public static func wireJSON(_ outcome: Result<ToolResult, ToolError>, call: ToolCall?, line: Int? = nil)
        -> JSONValue
    {
        var object: JSONObject = [:]
        if let line { object.set("line", .int(Int64(line))) }
        switch outcome {
        case .success(let result):
            object.set("ok", true)
            object.set("tool", .string(result.tool))
            if let capability = result.capability {
                object.set("capability", .string(capability))
                object.set("provider", .string(result.tool))
                object.set(
                    "failedOver",
                    .array(
                        result.failedOver.map { ["provider": .string($0.provider), "error": $0.error.wireJSON] }))
            }
            object.set("result", result.json)
            object.set("cached", .bool(result.cached))
            object.set("durationMs", .double(milliseconds(result.duration)))
            if let original = result.originalDuration {
                object.set("originalDurationMs", .double(milliseconds(original)))
            }
            return .object(object)
        case .failure(let error):
            object.set("ok", false)
            if let call { object.set(call.byCapability ? "capability" : "tool", .string(call.tool)) }
            object.set("error", error.wireJSON)
            return .object(object)
        }
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
