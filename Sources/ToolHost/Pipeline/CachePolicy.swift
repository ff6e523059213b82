import ToolHostJSON

/// Which calls of a deterministic tool are cached, and for how long.
///
/// The TTL is the manifest's `cache.ttlSeconds`, else the host default, lowered by the operator's cap
/// (`pluginOverrides`); 0 means never cached. A call whose arguments hold a non-cacheable name at any depth (the
/// host's list and the manifest's `cache.nonCacheableParams`) is never cached.
extension ToolHost.Configuration.Cache {
    /// How long the tool's results live in the cache.
    /// - Parameter operatorCap: the operator's `cacheTTLSeconds` for the tool, if any.
    func ttl(of tool: ToolManifest, operatorCap: Double?) -> Duration {
        var ttl = tool.cache.ttlSeconds.map { Duration.milliseconds(Int64($0 * 1000)) } ?? defaultTTL
        if let operatorCap { ttl = min(ttl, .milliseconds(Int64(operatorCap * 1000))) }
        return ttl
    }

    /// Whether a call with these arguments may be answered from, and stored in, the cache.
    func admits(_ arguments: JSONValue, of tool: ToolManifest) -> Bool {
        !Self.containsName(arguments, nonCacheableParams, tool.cache.nonCacheableParams)
    }

    /// Whether any object in `value`, at any depth, has a key in either set.
    private static func containsName(_ value: JSONValue, _ names: Set<String>, _ extra: [String]) -> Bool {
        switch value {
        case .object(let object):
            for (key, child) in object {
                if names.contains(key) || extra.contains(key) { return true }
                if containsName(child, names, extra) { return true }
            }
            return false
        case .array(let items):
            return items.contains { containsName($0, names, extra) }
        default:
            return false
        }
    }
}
