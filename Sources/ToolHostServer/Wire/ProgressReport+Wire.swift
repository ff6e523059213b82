import ToolHost
import ToolHostJSON

extension ProgressReport {
    /// A progress report as every front end sends it (REST `progress` events; the params of MCP's
    /// `notifications/progress` add the token): `progress`, then `total` when known and `message` when given.
    public var wireJSON: JSONValue {
        var object: JSONObject = ["progress": Self.number(done)]
        if let total { object.set("total", Self.number(total)) }
        if let message { object.set("message", .string(message)) }
        return .object(object)
    }

    /// An integral value as a JSON integer (`3`, not `3.0`), any other as a double.
    private static func number(_ value: Double) -> JSONValue {
        if value.rounded(.towardZero) == value, abs(value) < 9.0e15 { return .int(Int64(value)) }
        return .double(value)
    }
}
