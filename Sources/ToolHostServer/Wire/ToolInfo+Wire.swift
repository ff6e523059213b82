import ToolHost
import ToolHostJSON

extension ToolInfo {
    /// A tool as `toolhost list --json` and `GET /v1/tools` show it: `name`, `plugin`, `version`, `description`,
    /// `inputSchema`, `deterministic`, `idempotent`, `priority`, `capabilities` (labels for what it needs), `provides`
    /// (the capabilities it provides), and where the manifest gives them, `cacheTTLSeconds`, `timeoutMs`,
    /// `maxConcurrency` and `weight`.
    public var wireJSON: JSONValue {
        var object: JSONObject = [
            "name": .string(name),
            "plugin": .string(plugin),
            "version": .string(pluginVersion),
            "description": .string(manifest.description),
            "inputSchema": manifest.inputSchema,
            "deterministic": .bool(manifest.deterministic),
            "idempotent": .bool(manifest.idempotent),
            "priority": .int(Int64(manifest.priority)),
        ]
        if let ttl = manifest.cache.ttlSeconds { object.set("cacheTTLSeconds", .double(ttl)) }
        if let timeout = manifest.timeoutMs { object.set("timeoutMs", .int(Int64(timeout))) }
        if let concurrency = manifest.maxConcurrency { object.set("maxConcurrency", .int(Int64(concurrency))) }
        object.set("capabilities", .array(manifest.capabilities.map { .string($0) }))
        object.set("provides", .array(manifest.provides.map { .string($0) }))
        if let weight = manifest.weight { object.set("weight", .double(weight)) }
        return .object(object)
    }

    /// A tool as MCP's `tools/list` shows it: the protocol's fields (`name`, `description`, `inputSchema`) and its
    /// behaviour hints (`annotations`): a deterministic tool answers from its arguments alone (read-only,
    /// idempotent); an idempotent one may be repeated.
    var mcpJSON: JSONValue {
        var annotations: JSONObject = [:]
        annotations.set("idempotentHint", .bool(manifest.deterministic || manifest.idempotent))
        if manifest.deterministic { annotations.set("readOnlyHint", true) }
        return [
            "name": .string(name), "description": .string(manifest.description),
            "inputSchema": manifest.inputSchema, "annotations": .object(annotations),
        ]
    }
}
