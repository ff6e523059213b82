import ToolHost
import ToolHostJSON

extension Insights {
    /// The answer of `GET /v1/insights` (and what `toolhost insights` and `toolhost top` read):
    ///
    /// - `uptimeSeconds`;
    /// - `calls`: `total`, `perSecond` (over the ten whole seconds before now), `lastMinute`, `lastHour`,
    ///   `inFlight`, `queued`;
    /// - `slowestTools`: `tool`, `plugin`, `calls`, `p50Ms`, `p99Ms`, `maxMs` (since the start), slowest p99 first;
    /// - `busiestTools`: `tool`, `plugin`, `calls`, `callsLastMinute`, `errors`, `retries`;
    /// - `busiestPlugins`: `plugin`, `calls`, `callsLastMinute`, `errors`, `tools`;
    /// - `errors`: `total`, `lastMinute`, `lastHour`, `forgotten`, and `byCode`, `byTool`, `byPlugin`, each entry
    ///   `code` / `tool` / `plugin`, `lastMinute`, `lastHour`, `total` and `latest` (`message`, `code`, `tool`,
    ///   `secondsAgo`);
    /// - `cache`: `entries`, `bytes`, `maxBytes`, `evictions`, `hits`, `misses`, `hitRatio` (null before a lookup);
    /// - `memory` (null without a sampler): `sampleIntervalSeconds`, `residentBytes`, `peakResidentBytes`, `window`
    ///   (`seconds`, `samples`, `minBytes`, `maxBytes`, `trendBytesPerMinute`), `workers` (per plugin: `plugin`,
    ///   `processes`, `residentBytes`, `pids` of `{pid, residentBytes}`).
    public var wireJSON: JSONValue {
        let errors = activity.errors
        let errorTotals = errors.byCode.reduce((0, 0, 0)) {
            ($0.0 + $1.total, $0.1 + $1.lastMinute, $0.2 + $1.lastHour)
        }
        return [
            "uptimeSeconds": .double(Self.seconds(activity.uptime)),
            "calls": [
                "total": .int(Int64(activity.calls)), "perSecond": .double(callsPerSecond),
                "lastMinute": .int(Int64(activity.callsLastMinute)), "lastHour": .int(Int64(activity.callsLastHour)),
                "inFlight": .int(Int64(running)), "queued": .int(Int64(queued)),
            ],
            "slowestTools": .array(
                slowestTools.map { tool in
                    [
                        "tool": .string(tool.tool), "plugin": .string(tool.plugin), "calls": .int(Int64(tool.calls)),
                        "p50Ms": .double(tool.p50 / 1000), "p99Ms": .double(tool.p99 / 1000),
                        "maxMs": .double(tool.max / 1000),
                    ]
                }),
            "busiestTools": .array(
                busiestTools.map { tool in
                    [
                        "tool": .string(tool.tool), "plugin": .string(tool.plugin), "calls": .int(Int64(tool.calls)),
                        "callsLastMinute": .int(Int64(tool.callsLastMinute)), "errors": .int(Int64(tool.errors)),
                        "retries": .int(Int64(tool.retries)),
                    ]
                }),
            "busiestPlugins": .array(
                busiestPlugins.map { plugin in
                    [
                        "plugin": .string(plugin.plugin), "calls": .int(Int64(plugin.calls)),
                        "callsLastMinute": .int(Int64(plugin.callsLastMinute)), "errors": .int(Int64(plugin.errors)),
                        "tools": .int(Int64(plugin.tools)),
                    ]
                }),
            "errors": [
                "total": .int(Int64(errorTotals.0)), "lastMinute": .int(Int64(errorTotals.1)),
                "lastHour": .int(Int64(errorTotals.2)), "forgotten": .int(Int64(errors.forgotten)),
                "byCode": .array(errors.byCode.map { $0.wireJSON(key: "code") }),
                "byTool": .array(errors.byTool.prefix(limit).map { $0.wireJSON(key: "tool") }),
                "byPlugin": .array(errors.byPlugin.prefix(limit).map { $0.wireJSON(key: "plugin") }),
            ],
            "cache": [
                "entries": .int(Int64(cache.entries)), "bytes": .int(Int64(cache.bytes)),
                "maxBytes": .int(Int64(cache.maxBytes)), "evictions": .int(Int64(cache.evictions)),
                "hits": .int(Int64(cache.hits)), "misses": .int(Int64(cache.misses)),
                "hitRatio": cache.hitRatio.map { .double($0) } ?? .null,
            ],
            "memory": memory?.wireJSON ?? .null,
        ]
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension ErrorPattern {
    /// One entry of `errors.byCode` / `byTool` / `byPlugin`, its name under `key`.
    func wireJSON(key name: String) -> JSONValue {
        [
            name: .string(key), "lastMinute": .int(Int64(lastMinute)), "lastHour": .int(Int64(lastHour)),
            "total": .int(Int64(total)),
            "latest": [
                "message": .string(latestMessage), "code": .string(latestCode), "tool": .string(latestTool),
                "secondsAgo": .double(Insights.seconds(latestAge)),
            ],
        ]
    }
}

extension MemorySampler.Snapshot {
    /// The `memory` object of the insights (documented on ``Insights/wireJSON``).
    var wireJSON: JSONValue {
        let bytes = window.map(\.residentBytes)
        let span = window.count > 1 ? Double(window[window.count - 1].at &- window[0].at) / 1e9 : 0
        var plugins: [String: (processes: [JSONValue], bytes: Int)] = [:]
        for worker in workers {
            plugins[worker.plugin, default: ([], 0)].processes.append(
                ["pid": .int(Int64(worker.pid)), "residentBytes": .int(Int64(worker.residentBytes))])
            plugins[worker.plugin, default: ([], 0)].bytes += worker.residentBytes
        }
        return [
            "sampleIntervalSeconds": .double(Insights.seconds(interval)),
            "residentBytes": residentBytes.map { .int(Int64($0)) } ?? .null,
            "peakResidentBytes": peakResidentBytes.map { .int(Int64($0)) } ?? .null,
            "window": [
                "seconds": .double(span), "samples": .int(Int64(window.count)),
                "minBytes": bytes.min().map { .int(Int64($0)) } ?? .null,
                "maxBytes": bytes.max().map { .int(Int64($0)) } ?? .null,
                "trendBytesPerMinute": trendBytesPerMinute.map { .double($0.rounded()) } ?? .null,
            ],
            "workers": .array(
                plugins.keys.sorted().map { plugin in
                    let entry = plugins[plugin]!
                    return [
                        "plugin": .string(plugin), "processes": .int(Int64(entry.processes.count)),
                        "residentBytes": .int(Int64(entry.bytes)), "pids": .array(entry.processes),
                    ]
                }),
        ]
    }
}
