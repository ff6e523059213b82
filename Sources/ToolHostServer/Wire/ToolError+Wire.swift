import ToolHost
import ToolHostJSON

extension ToolError {
    /// The error object of every JSON answer (`REST`, `toolhost batch`): `code`, `message`, and for
    /// `invalid_arguments` each offending value as `violations: [{"path", "message"}]`.
    public var wireJSON: JSONValue {
        var object: JSONObject = ["code": .string(code.rawValue), "message": .string(message)]
        if !violations.isEmpty {
            object.set(
                "violations", .array(violations.map { ["path": .string($0.path), "message": .string($0.message)] }))
        }
        return .object(object)
    }

    /// The error as MCP shows it to a model, in a tool result with `isError: true`: `code: message`, then one line
    /// per violation.
    var mcpText: String {
        var text = "\(code): \(message)"
        for violation in violations { text += "\n\(violation.path): \(violation.message)" }
        return text
    }
}
