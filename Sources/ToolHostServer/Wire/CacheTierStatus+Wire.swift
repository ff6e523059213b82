import ToolHost
import ToolHostJSON

extension CacheTierStatus {
    /// One tier as `GET /v1/cache` shows it: `tier`, `state`, `entries`, `bytes`, `maxBytes`, `hits`, `misses`,
    /// `timeouts`, `errors`, and where there is one, `path` and `problem`.
    public var wireJSON: JSONValue {
        var object: JSONObject = [
            "tier": .string(tier), "state": .string(state), "entries": .int(Int64(entries)),
            "bytes": .int(Int64(bytes)), "maxBytes": .int(Int64(maxBytes)), "hits": .int(Int64(hits)),
            "misses": .int(Int64(misses)), "timeouts": .int(Int64(timeouts)), "errors": .int(Int64(errors)),
        ]
        if let path { object.set("path", .string(path)) }
        if let problem { object.set("problem", .string(problem)) }
        return .object(object)
    }

    /// `GET /v1/cache`: `{"tiers": [...]}`, memory first.
    public static func wireJSON(_ tiers: [CacheTierStatus]) -> JSONValue {
        ["tiers": .array(tiers.map(\.wireJSON))]
    }
}

extension CacheRemoval {
    /// `DELETE /v1/cache`: `removed` (every tier together), `l1`, and `l2` (null when L2 is off or could not be
    /// written).
    public var wireJSON: JSONValue {
        [
            "removed": .int(Int64(l1 + (l2 ?? 0))), "l1": .int(Int64(l1)),
            "l2": l2.map { .int(Int64($0)) } ?? .null,
        ]
    }
}
