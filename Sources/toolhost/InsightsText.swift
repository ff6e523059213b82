import Foundation
import ToolHostJSON

/// The insights of a daemon (`GET /v1/insights`) as text for a person: `toolhost insights` prints it, `toolhost top`
/// redraws it. A field the daemon did not send shows as "-".
enum InsightsText {
    /// The report, one line per element; lines are cut at `width` columns.
    static func lines(_ insights: JSONValue, source: String, width: Int = 120) -> [String] {
        var out: [String] = []
        let calls = insights["calls"]
        out.append("toolhost \(source), up \(duration(insights["uptimeSeconds"]?.doubleValue))")
        out.append(
            "calls: \(rate(calls?["perSecond"]?.doubleValue))/s, \(int(calls?["inFlight"])) in flight, "
                + "\(int(calls?["queued"])) queued; \(int(calls?["lastMinute"])) last minute, "
                + "\(int(calls?["lastHour"])) last hour, \(int(calls?["total"])) since start")
        let errors = insights["errors"]
        out.append(
            "errors: \(int(errors?["lastMinute"])) last minute, \(int(errors?["lastHour"])) last hour, "
                + "\(int(errors?["total"])) since start")
        out.append("")
        out.append(row(["slowest tools", "calls", "p50 ms", "p99 ms", "max ms"], [32, 9, 10, 10, 10]))
        for tool in insights["slowestTools"]?.arrayValue ?? [] {
            out.append(
                row(
                    [
                        "  " + (tool["tool"]?.stringValue ?? "-"), int(tool["calls"]), ms(tool["p50Ms"]),
                        ms(tool["p99Ms"]), ms(tool["maxMs"]),
                    ], [32, 9, 10, 10, 10]))
        }
        out.append("")
        out.append(row(["busiest tools", "last min", "calls", "errors", "retries"], [32, 9, 10, 10, 10]))
        for tool in insights["busiestTools"]?.arrayValue ?? [] {
            out.append(
                row(
                    [
                        "  " + (tool["tool"]?.stringValue ?? "-"), int(tool["callsLastMinute"]), int(tool["calls"]),
                        int(tool["errors"]), int(tool["retries"]),
                    ], [32, 9, 10, 10, 10]))
        }
        out.append("")
        out.append(row(["busiest plugins", "last min", "calls", "errors", "tools"], [32, 9, 10, 10, 10]))
        for plugin in insights["busiestPlugins"]?.arrayValue ?? [] {
            out.append(
                row(
                    [
                        "  " + (plugin["plugin"]?.stringValue ?? "-"), int(plugin["callsLastMinute"]),
                        int(plugin["calls"]), int(plugin["errors"]), int(plugin["tools"]),
                    ], [32, 9, 10, 10, 10]))
        }
        for (title, list, key) in [
            ("errors by code", "byCode", "code"), ("errors by tool", "byTool", "tool"),
            ("errors by plugin", "byPlugin", "plugin"),
        ] {
            let entries = errors?[list]?.arrayValue ?? []
            guard !entries.isEmpty else { continue }
            out.append("")
            out.append(row([title, "last min", "last hour", "total", "  latest"], [32, 9, 10, 10, 0]))
            for entry in entries {
                let latest = entry["latest"]
                let message = (latest?["message"]?.stringValue ?? "").replacingOccurrences(of: "\n", with: " ")
                out.append(
                    row(
                        [
                            "  " + (entry[key]?.stringValue ?? "-"), int(entry["lastMinute"]), int(entry["lastHour"]),
                            int(entry["total"]),
                            "  \(duration(latest?["secondsAgo"]?.doubleValue)) ago, "
                                + "\(latest?["tool"]?.stringValue ?? "-"): \(message)",
                        ], [32, 9, 10, 10, 0]))
            }
        }
        out.append("")
        let cache = insights["cache"]
        let ratio = cache?["hitRatio"]?.doubleValue.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
        out.append(
            "cache: \(int(cache?["entries"])) entries, \(bytes(cache?["bytes"])) of \(bytes(cache?["maxBytes"])), "
                + "hit ratio \(ratio) (\(int(cache?["hits"])) hits, \(int(cache?["misses"])) misses), "
                + "\(int(cache?["evictions"])) evictions")
        if let memory = insights["memory"], !memory.isNull {
            let window = memory["window"]
            let trend = window?["trendBytesPerMinute"]?.doubleValue.map { value in
                (value >= 0 ? "+" : "-") + bytes(.double(abs(value))) + "/min"
            }
            out.append(
                "memory: resident \(bytes(memory["residentBytes"])), peak \(bytes(memory["peakResidentBytes"])), "
                    + "trend \(trend ?? "-") over \(duration(window?["seconds"]?.doubleValue)) "
                    + "(\(int(window?["samples"])) samples)")
            for worker in memory["workers"]?.arrayValue ?? [] {
                out.append(
                    "  workers of \(worker["plugin"]?.stringValue ?? "-"): \(int(worker["processes"])) processes, "
                        + bytes(worker["residentBytes"]))
            }
        } else {
            out.append("memory: not sampled by this daemon")
        }
        return out.map { cut($0, to: width) }
    }

    /// Cells padded to the widths (0: as long as it is), the first left-aligned and the others right-aligned.
    static func row(_ cells: [String], _ widths: [Int]) -> String {
        var line = ""
        for (index, cell) in cells.enumerated() {
            let width = index < widths.count ? widths[index] : 0
            let pad = String(repeating: " ", count: max(0, width - cell.count))
            if index == 0 {
                line += cell + pad
            } else if width == 0 {
                line += cell
            } else {
                line += " " + pad + cell
            }
        }
        return line
    }

    static func cut(_ line: String, to width: Int) -> String {
        line.count <= width ? line : String(line.prefix(max(0, width - 1))) + "…"
    }

    static func int(_ value: JSONValue?) -> String {
        guard let value, let number = value.intValue ?? value.doubleValue.map({ Int64($0) }) else { return "-" }
        return String(number)
    }

    static func ms(_ value: JSONValue?) -> String {
        guard let number = value?.doubleValue else { return "-" }
        return number >= 100 ? String(format: "%.0f", number) : String(format: "%.3f", number)
    }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }

    static func bytes(_ value: JSONValue?) -> String {
        guard let number = value?.doubleValue else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var size = number
        var unit = 0
        while size >= 1024 && unit < units.count - 1 {
            size /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(size)) B" : String(format: "%.1f", size) + " " + units[unit]
    }

    static func duration(_ seconds: Double?) -> String {
        guard let seconds else { return "-" }
        if seconds < 60 { return String(format: "%.0fs", seconds) }
        let total = Int(seconds)
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        if total < 86400 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
        return "\(total / 86400)d\(String(format: "%02d", total % 86400 / 3600))h"
    }
}
