import ToolHost
import ToolHostJSON

extension ToolResult {
    /// The outcome of one call in a batch (`POST /v1/batch`, `toolhost batch`): `{"ok": true, "tool", "result",
    /// "cached", "durationMs", "originalDurationMs"?}` or `{"ok": false, "tool"?, "error": {…}}`.
    /// `toolhost batch` puts the input's line number first, as `line`.
    /// - Parameters:
    ///   - outcome: the call's result or error.
    ///   - tool: the tool named by the call, for an error (a result names its own).
    ///   - line: the input line (1-based) the call came from, if any.
    public static func wireJSON(_ outcome: Result<ToolResult, ToolError>, tool: String?, line: Int? = nil)
        -> JSONValue
    {
        var object: JSONObject = [:]
        if let line { object.set("line", .int(Int64(line))) }
        switch outcome {
        case .success(let result):
            object.set("ok", true)
            object.set("tool", .string(result.tool))
            object.set("result", result.json)
            object.set("cached", .bool(result.cached))
            object.set("durationMs", .double(milliseconds(result.duration)))
            if let original = result.originalDuration {
                object.set("originalDurationMs", .double(milliseconds(original)))
            }
            return .object(object)
        case .failure(let error):
            object.set("ok", false)
            if let tool { object.set("tool", .string(tool)) }
            object.set("error", error.wireJSON)
            return .object(object)
        }
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
