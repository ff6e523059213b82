import ToolHost
import ToolHostJSON

extension ToolInfo {
    /// A tool as `toolhost list --json` and `GET /v1/tools` show it: `name`, `plugin`, `version`, `description`,
    /// `inputSchema`, `deterministic`, `idempotent`, `priority`, `capabilities`, and where the manifest gives them,
    /// `cacheTTLSeconds`, `timeoutMs` and `maxConcurrency`.
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
