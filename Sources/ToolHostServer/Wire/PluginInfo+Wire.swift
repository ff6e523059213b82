import ToolHost
import ToolHostJSON

extension PluginInfo {
    /// A plugin as `GET /v1/plugins` shows it: `name`, `version`, `directory`, `state`, `tools`, `isolation`,
    /// `quarantined`, and where there is one, `error` and `rejectedUpdate` (error objects), and
    /// `capabilityConflicts` (its tools refused as providers of a capability).
    public var wireJSON: JSONValue {
        var object: JSONObject = [
            "name": .string(name), "version": .string(version), "directory": .string(directory),
            "state": .string(state.rawValue), "tools": .array(tools.map { .string($0) }),
            "isolation": .string(isolation.rawValue), "quarantined": .bool(quarantined),
        ]
        if let error { object.set("error", error.wireJSON) }
        if let rejectedUpdate { object.set("rejectedUpdate", rejectedUpdate.wireJSON) }
        if !capabilityConflicts.isEmpty {
            object.set("capabilityConflicts", .array(capabilityConflicts.map(\.wireJSON)))
        }
        return .object(object)
    }
}

extension PluginProblem {
    /// A plugin folder whose manifest could not be read: `directory` and `message`.
    public var wireJSON: JSONValue {
        ["directory": .string(directory), "message": .string(description)]
    }
}

extension CapabilityConflict {
    /// `capability`, `tool` (the refused provider), `provider` (the one it disagrees with) and `message`.
    public var wireJSON: JSONValue {
        [
            "capability": .string(capability), "tool": .string(tool), "provider": .string(provider),
            "message": .string(description),
        ]
    }
}
