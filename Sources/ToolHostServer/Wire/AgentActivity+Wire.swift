import ToolHost
import ToolHostJSON

extension AgentActivity {
    /// One agent in `GET /v1/agents` (busiest first): `agent`, `calls`, `errors` (by code), `cacheHits`, `p50Ms`,
    /// `p99Ms`, `tools` (calls per tool, busiest first), `firstSeenSecondsAgo`, `lastSeenSecondsAgo`.
    public var wireJSON: JSONValue {
        let errorsByCode = errors.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int(Int64($0.value))) }
        let byTool = tools.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        return [
            "agent": .string(agent), "calls": .int(Int64(calls)), "errors": .object(JSONObject(errorsByCode)),
            "cacheHits": .int(Int64(cacheHits)), "p50Ms": .double(p50 / 1000), "p99Ms": .double(p99 / 1000),
            "tools": .array(byTool.map { ["tool": .string($0.key), "calls": .int(Int64($0.value))] }),
            "firstSeenSecondsAgo": .double(Self.seconds(firstSeen)),
            "lastSeenSecondsAgo": .double(Self.seconds(lastSeen)),
        ]
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
