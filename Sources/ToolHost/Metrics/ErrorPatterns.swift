import Synchronization

/// Failed calls counted by error code, by tool and by plugin over the last minute, the last hour and since the
/// start, each with its latest message: what an operator looks at to see what is going wrong now.
///
/// Bounded however long the host runs: counts live in fixed-size time buckets (``WindowedCounter``), messages are
/// cut at ``maxMessageBytes``, and each dimension keeps at most ``maxKeys`` names; a new name past that replaces
/// the one whose latest failure is oldest, and ``ErrorPatternsSnapshot/forgotten`` counts the names replaced.
final class ErrorPatterns: Sendable {
    /// The most names kept per dimension (tools, plugins; codes are a closed set).
    static let maxKeys = 256
    /// The longest latest message kept, in UTF-8 bytes.
    static let maxMessageBytes = 512

    private final class Pattern {
        var minute = WindowedCounter(buckets: 12, width: .seconds(5))
        var hour = WindowedCounter(buckets: 60, width: .seconds(60))
        var total = 0
        var latestMessage = ""
        var latestCode = ""
        var latestTool = ""
        var latestAt: UInt64 = 0
    }

    private struct Dimension {
        var patterns: [String: Pattern] = [:]
        var forgotten = 0

        mutating func record(
            _ key: String, code: String, tool: String, message: String, at now: UInt64, maxKeys: Int
        ) {
            let pattern: Pattern
            if let existing = patterns[key] {
                pattern = existing
            } else {
                if patterns.count >= maxKeys,
                    let stalest = patterns.min(by: { $0.value.latestAt < $1.value.latestAt })?.key
                {
                    patterns[stalest] = nil
                    forgotten += 1
                }
                pattern = Pattern()
                patterns[key] = pattern
            }
            pattern.minute.add(at: now)
            pattern.hour.add(at: now)
            pattern.total += 1
            pattern.latestMessage = message
            pattern.latestCode = code
            pattern.latestTool = tool
            pattern.latestAt = now
        }

        func snapshot(at now: UInt64) -> [ErrorPattern] {
            patterns.map { key, pattern in
                ErrorPattern(
                    key: key, lastMinute: pattern.minute.sum(at: now), lastHour: pattern.hour.sum(at: now),
                    total: pattern.total, latestMessage: pattern.latestMessage, latestCode: pattern.latestCode,
                    latestTool: pattern.latestTool,
                    latestAge: .nanoseconds(Int64(now > pattern.latestAt ? now - pattern.latestAt : 0)))
            }.sorted { ($0.lastMinute, $0.lastHour, $0.total, $1.key) > ($1.lastMinute, $1.lastHour, $1.total, $0.key) }
        }
    }

    private struct State {
        var codes = Dimension()
        var tools = Dimension()
        var plugins = Dimension()
    }

    private let state = Mutex(State())
    private let maxKeys: Int

    /// - Parameter maxKeys: the most tool and plugin names kept (tests lower it).
    init(maxKeys: Int = ErrorPatterns.maxKeys) {
        self.maxKeys = maxKeys
    }

    /// Counts one failed call.
    func record(code: String, tool: String, plugin: String, message: String, at now: UInt64) {
        let message = Self.cut(message)
        state.withLock { state in
            // Codes are a closed set (ToolError.Code.all): never more than a handful of names.
            state.codes.record(code, code: code, tool: tool, message: message, at: now, maxKeys: .max)
            state.tools.record(tool, code: code, tool: tool, message: message, at: now, maxKeys: maxKeys)
            state.plugins.record(plugin, code: code, tool: tool, message: message, at: now, maxKeys: maxKeys)
        }
    }

    func snapshot(at now: UInt64) -> ErrorPatternsSnapshot {
        state.withLock { state in
            ErrorPatternsSnapshot(
                byCode: state.codes.snapshot(at: now), byTool: state.tools.snapshot(at: now),
                byPlugin: state.plugins.snapshot(at: now), forgotten: state.tools.forgotten + state.plugins.forgotten)
        }
    }

    /// `message`, cut at a character boundary to at most ``maxMessageBytes`` bytes (with "…" when cut).
    static func cut(_ message: String) -> String {
        guard message.utf8.count > maxMessageBytes else { return message }
        var end = message.startIndex
        var bytes = 0
        for index in message.indices {
            let next = message.utf8.distance(from: index, to: message.index(after: index))
            if bytes + next > maxMessageBytes - 3 { break }
            bytes += next
            end = message.index(after: index)
        }
        return String(message[..<end]) + "…"
    }
}

/// The failures of one error code, tool or plugin.
public struct ErrorPattern: Sendable, Hashable {
    /// The code (`timeout`), the tool (`<plugin>.<tool>`) or the plugin.
    public var key: String
    /// Failures in the last minute (buckets of 5 s: the last 55 to 60 s).
    public var lastMinute: Int
    /// Failures in the last hour (buckets of a minute: the last 59 to 60 minutes).
    public var lastHour: Int
    /// Failures since the host started.
    public var total: Int
    /// The latest failure's message (cut at 512 bytes), its code and its tool.
    public var latestMessage: String
    public var latestCode: String
    public var latestTool: String
    /// How long ago the latest failure was.
    public var latestAge: Duration
}

/// Failed calls by error code, by tool and by plugin, each list busiest first (last minute, then last hour, then
/// since the start).
public struct ErrorPatternsSnapshot: Sendable, Hashable {
    public var byCode: [ErrorPattern]
    public var byTool: [ErrorPattern]
    public var byPlugin: [ErrorPattern]
    /// Tool and plugin names no longer shown: past the cap of 256 names each, the name whose latest failure was
    /// oldest made room for a new one.
    public var forgotten: Int
}
