import ToolHost
import ToolHostJSON

extension CapabilityInfo {
    /// The prefix of a capability's MCP tool name: `capability-<name>`. Every tool's own name is
    /// `<plugin>.<tool>` and holds a dot, which a capability's name never does, so the two cannot collide.
    public static let mcpPrefix = "capability-"

    /// A capability as `GET /v1/capabilities` shows it: `name`, `description`, `inputSchema`, `mcpName`, and
    /// `providers`, best first, each with `tool`, `plugin`, `state`, `score`, `weight`, `errorRate`,
    /// `expectedMs`, `inFlight`, `limit`, `recentCalls`, `calls`, `errors`, `failovers` and `lastError`.
    public var wireJSON: JSONValue {
        [
            "name": .string(name), "description": .string(description), "inputSchema": inputSchema,
            "mcpName": .string(Self.mcpPrefix + name), "providers": .array(providers.map(\.wireJSON)),
        ]
    }

    /// The capability as MCP's `tools/list` shows it: a tool named `capability-<name>` whose description names
    /// its providers.
    var mcpJSON: JSONValue {
        let names = providers.map(\.tool).joined(separator: ", ")
        return [
            "name": .string(Self.mcpPrefix + name),
            "description": .string(
                "Capability '\(name)', served by the best available of its providers (\(names)), with failover. "
                    + description),
            "inputSchema": inputSchema,
        ]
    }
}

extension ProviderInfo {
    /// One provider of a capability, its score and statistics.
    public var wireJSON: JSONValue {
        var object: JSONObject = [
            "tool": .string(tool), "plugin": .string(plugin), "state": .string(state.rawValue),
            "score": .double(score), "weight": .double(weight), "errorRate": .double(errorRate),
            "expectedMs": .double(expectedMilliseconds), "inFlight": .int(Int64(inFlight)),
            "limit": .int(Int64(limit)), "recentCalls": .double(recentCalls), "calls": .int(Int64(calls)),
            "errors": .int(Int64(errors)), "failovers": .int(Int64(failovers)),
        ]
        if let lastError { object.set("lastError", .string(lastError)) }
        return .object(object)
    }
}
