import Foundation
import Logging
import ToolHost
import ToolHostJSON

extension DaemonConfiguration {
    /// How one setting is written and checked.
    enum Kind {
        case text(WritableKeyPath<DaemonConfiguration, String>)
        case optionalText(WritableKeyPath<DaemonConfiguration, String?>)
        case integer(WritableKeyPath<DaemonConfiguration, Int>, minimum: Int, maximum: Int = .max)
        case seconds(WritableKeyPath<DaemonConfiguration, Double>, maximum: Double)
        case isolation
        case logLevel
    }

    /// One setting: its key in the file (dotted inside `limits` and `cache`), its environment variable, its
    /// flag, and its kind.
    struct Setting {
        let key: String
        let environment: String
        let flag: String
        let kind: Kind
    }

    /// Every setting, in the order the README documents them.
    static var settings: [Setting] {
        [
            Setting(key: "listen", environment: "TOOLHOST_LISTEN", flag: "--listen", kind: .text(\.listen)),
            Setting(
                key: "pluginsDirectory", environment: "TOOLHOST_PLUGINS", flag: "--plugins",
                kind: .text(\.pluginsDirectory)),
            Setting(
                key: "tokenFile", environment: "TOOLHOST_TOKEN_FILE", flag: "--token-file",
                kind: .optionalText(\.tokenFile)),
            Setting(
                key: "maxBodyBytes", environment: "TOOLHOST_MAX_BODY_BYTES", flag: "--max-body-bytes",
                kind: .integer(\.maxBodyBytes, minimum: 1)),
            Setting(
                key: "graceSeconds", environment: "TOOLHOST_GRACE_SECONDS", flag: "--grace-seconds",
                kind: .seconds(\.graceSeconds, maximum: 3600)),
            Setting(key: "logLevel", environment: "TOOLHOST_LOG_LEVEL", flag: "--log-level", kind: .logLevel),
            Setting(key: "isolation", environment: "TOOLHOST_ISOLATION", flag: "--isolation", kind: .isolation),
            Setting(
                key: "defaultTimeoutMs", environment: "TOOLHOST_DEFAULT_TIMEOUT_MS", flag: "--default-timeout-ms",
                kind: .integer(
                    \.defaultTimeoutMs, minimum: Int(ToolCall.timeoutMillisecondsRange.lowerBound),
                    maximum: Int(ToolCall.timeoutMillisecondsRange.upperBound))),
            Setting(
                key: "limits.maxConcurrentCalls", environment: "TOOLHOST_MAX_CONCURRENT_CALLS",
                flag: "--max-concurrent-calls", kind: .integer(\.maxConcurrentCalls, minimum: 1)),
            Setting(
                key: "limits.maxQueuedCalls", environment: "TOOLHOST_MAX_QUEUED_CALLS", flag: "--max-queued-calls",
                kind: .integer(\.maxQueuedCalls, minimum: 0)),
            Setting(
                key: "limits.defaultPluginConcurrency", environment: "TOOLHOST_DEFAULT_PLUGIN_CONCURRENCY",
                flag: "--default-plugin-concurrency", kind: .integer(\.defaultPluginConcurrency, minimum: 1)),
            Setting(
                key: "limits.defaultToolConcurrency", environment: "TOOLHOST_DEFAULT_TOOL_CONCURRENCY",
                flag: "--default-tool-concurrency", kind: .integer(\.defaultToolConcurrency, minimum: 1)),
            Setting(
                key: "limits.awakeWaitMicroseconds", environment: "TOOLHOST_AWAKE_WAIT_US", flag: "--awake-wait-us",
                kind: .integer(\.awakeWaitMicroseconds, minimum: 0, maximum: 1000)),
            Setting(
                key: "cache.maxBytes", environment: "TOOLHOST_CACHE_MAX_BYTES", flag: "--cache-max-bytes",
                kind: .integer(\.cacheMaxBytes, minimum: 0)),
        ]
    }

    /// The keys of `pluginOverrides.<plugin>`.
    static let pluginOverrideKeys = [
        "timeoutMs", "maxConcurrency", "toolMaxConcurrency", "cacheTTLSeconds", "isolation", "tools",
    ]

    /// The keys of `pluginOverrides.<plugin>.tools.<tool>`.
    static let toolOverrideKeys = ["timeoutMs", "maxConcurrency", "cacheTTLSeconds"]

    // MARK: sources

    /// Applies every source in order of precedence: the config file (`configFile`, else `$TOOLHOST_CONFIG`), then
    /// the environment, then the flags, each over the one before.
    /// - Parameters:
    ///   - configFile: `--config`, if given.
    ///   - environment: the process environment.
    ///   - flags: the flags the user gave, by name, as text.
    /// - Throws: `DaemonConfigurationError` naming the source and the key.
    public mutating func apply(
        configFile: String?, environment: [String: String], flags: [(flag: String, value: String)]
    ) throws(DaemonConfigurationError) {
        if let file = configFile ?? environment["TOOLHOST_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            try apply(file: file)
        }
        try apply(environment: environment)
        try apply(flags: flags)
    }

    /// Applies a JSON config file. Every key must be known and of the right type.
    /// - Parameter path: the file.
    /// - Throws: `DaemonConfigurationError` naming the file and the key.
    public mutating func apply(file path: String) throws(DaemonConfigurationError) {
        let source = "config file \(path)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DaemonConfigurationError(source: source, key: nil, "cannot be read (does it exist?)")
        }
        try apply(fileContents: Array(data), source: source)
        sources.append(path)
    }

    /// Applies the contents of a JSON config file.
    /// - Parameters:
    ///   - bytes: the file's bytes.
    ///   - source: names the file in errors.
    /// - Throws: `DaemonConfigurationError` naming the key.
    public mutating func apply(fileContents bytes: [UInt8], source: String) throws(DaemonConfigurationError) {
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw DaemonConfigurationError(source: source, key: nil, "is not valid JSON: \(error)")
        }
        guard let object = root.objectValue else {
            throw DaemonConfigurationError(source: source, key: nil, "must hold a JSON object, not \(root.typeName)")
        }
        let settings = Self.settings
        for (key, value) in object {
            switch key {
            case "limits", "cache":
                guard let section = value.objectValue else {
                    throw DaemonConfigurationError(source: source, key: key, "must be an object, not \(value.typeName)")
                }
                for (subkey, subvalue) in section {
                    let dotted = key + "." + subkey
                    guard let setting = settings.first(where: { $0.key == dotted }) else {
                        throw unknown(
                            dotted, source: source, known: settings.map(\.key).filter { $0.hasPrefix(key + ".") })
                    }
                    try set(setting, json: subvalue, source: source)
                }
            case "pluginOverrides":
                try applyPluginOverrides(value, source: source)
            default:
                guard let setting = settings.first(where: { $0.key == key && !$0.key.contains(".") }) else {
                    let known =
                        settings.map(\.key).filter { !$0.contains(".") } + ["limits", "cache", "pluginOverrides"]
                    throw unknown(key, source: source, known: known)
                }
                try set(setting, json: value, source: source)
            }
        }
    }

    /// Applies the `TOOLHOST_*` environment variables that are set (an empty one counts as unset).
    /// - Parameter environment: the process environment.
    /// - Throws: `DaemonConfigurationError` naming the variable.
    public mutating func apply(environment: [String: String]) throws(DaemonConfigurationError) {
        var used = false
        for setting in Self.settings {
            guard let value = environment[setting.environment], !value.isEmpty else { continue }
            try set(setting, text: value, source: "environment variable \(setting.environment)", key: nil)
            used = true
        }
        if used { sources.append("environment") }
    }

    /// Applies command-line flags, given by their names (`--listen`) with the text the user typed.
    /// - Throws: `DaemonConfigurationError` naming the flag.
    public mutating func apply(flags: [(flag: String, value: String)]) throws(DaemonConfigurationError) {
        for (flag, value) in flags {
            guard let setting = Self.settings.first(where: { $0.flag == flag }) else {
                throw DaemonConfigurationError(source: "command line", key: flag, "is not a setting")
            }
            try set(setting, text: value, source: "command line", key: flag)
        }
        if !flags.isEmpty { sources.append("flags") }
    }

    // MARK: values

    private func unknown(_ key: String, source: String, known: [String]) -> DaemonConfigurationError {
        DaemonConfigurationError(
            source: source, key: key, "is not a known key (known here: \(known.joined(separator: ", ")))")
    }

    private mutating func set(_ setting: Setting, json value: JSONValue, source: String)
        throws(DaemonConfigurationError)
    {
        func wrong(_ expected: String) -> DaemonConfigurationError {
            DaemonConfigurationError(
                source: source, key: setting.key,
                "must be \(expected), not \(value.serializedString) (\(value.typeName))")
        }
        switch setting.kind {
        case .text, .optionalText, .isolation, .logLevel:
            guard let text = value.stringValue else { throw wrong("a string") }
            try set(setting, text: text, source: source, key: setting.key)
        case .integer(_, let minimum, let maximum):
            guard case .int = value, let number = value.intValue else {
                throw wrong(Self.integerRange(minimum, maximum))
            }
            try set(setting, text: String(number), source: source, key: setting.key)
        case .seconds(_, let maximum):
            guard let number = value.doubleValue else { throw wrong("a number of seconds in 0...\(Int(maximum))") }
            try set(setting, text: String(number), source: source, key: setting.key)
        }
    }

    /// "an integer ≥ 1", "an integer in 0...1000".
    private static func integerRange(_ minimum: Int, _ maximum: Int) -> String {
        maximum == .max ? "an integer ≥ \(minimum)" : "an integer in \(minimum)...\(maximum)"
    }

    /// Parses and checks one value written as text (environment, flags; the file's values after their type check).
    private mutating func set(
        _ setting: Setting, text: String, source: String, key: String?
    ) throws(DaemonConfigurationError) {
        func invalid(_ expected: String) -> DaemonConfigurationError {
            DaemonConfigurationError(source: source, key: key, "must be \(expected), not '\(text)'")
        }
        switch setting.kind {
        case .text(let path):
            if setting.key == "listen", Self.parseListen(text) == nil { throw invalid("HOST:PORT (port 0...65535)") }
            guard !text.isEmpty else { throw invalid("a non-empty string") }
            self[keyPath: path] = text
        case .optionalText(let path):
            guard !text.isEmpty else { throw invalid("a non-empty string") }
            self[keyPath: path] = text
        case .integer(let path, let minimum, let maximum):
            guard let number = Int(text), number >= minimum, number <= maximum else {
                throw invalid(Self.integerRange(minimum, maximum))
            }
            self[keyPath: path] = number
        case .seconds(let path, let maximum):
            guard let number = Double(text), number >= 0, number <= maximum else {
                throw invalid("a number of seconds in 0...\(Int(maximum))")
            }
            self[keyPath: path] = number
        case .isolation:
            guard let mode = IsolationMode(rawValue: text) else { throw invalid("inprocess or process") }
            isolation = mode
        case .logLevel:
            guard Logger.Level(rawValue: text.lowercased()) != nil else {
                throw invalid("one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = text.lowercased()
        }
    }

    private mutating func applyPluginOverrides(_ value: JSONValue, source: String) throws(DaemonConfigurationError) {
        guard let plugins = value.objectValue else {
            throw DaemonConfigurationError(
                source: source, key: "pluginOverrides", "must be an object of plugin names, not \(value.typeName)")
        }
        for (plugin, overrides) in plugins {
            let prefix = "pluginOverrides.\(plugin)"
            var policy = pluginPolicies[plugin] ?? .init()
            for (field, value) in try Self.fields(overrides, key: prefix, source: source) {
                let key = prefix + "." + field
                switch field {
                case "timeoutMs": policy.timeoutMs = try Self.timeoutMs(value, key: key, source: source)
                case "maxConcurrency": policy.maxConcurrency = try Self.positive(value, key: key, source: source)
                case "toolMaxConcurrency":
                    policy.toolMaxConcurrency = try Self.positive(value, key: key, source: source)
                case "cacheTTLSeconds": policy.cacheTTLSeconds = try Self.seconds(value, key: key, source: source)
                case "isolation":
                    guard let text = value.stringValue, let mode = IsolationMode(rawValue: text) else {
                        throw Self.wrong(value, key: key, source: source, "\"inprocess\" or \"process\"")
                    }
                    isolationOverrides[plugin] = mode
                case "tools":
                    for (tool, caps) in try Self.fields(value, key: key, source: source) {
                        let toolKey = key + "." + tool
                        var toolPolicy = policy.tools[tool] ?? .init()
                        for (field, value) in try Self.fields(caps, key: toolKey, source: source) {
                            let key = toolKey + "." + field
                            switch field {
                            case "timeoutMs":
                                toolPolicy.timeoutMs = try Self.timeoutMs(value, key: key, source: source)
                            case "maxConcurrency":
                                toolPolicy.maxConcurrency = try Self.positive(value, key: key, source: source)
                            case "cacheTTLSeconds":
                                toolPolicy.cacheTTLSeconds = try Self.seconds(value, key: key, source: source)
                            default:
                                throw unknown(key, source: source, known: Self.toolOverrideKeys)
                            }
                        }
                        policy.tools[tool] = toolPolicy
                    }
                default:
                    throw unknown(key, source: source, known: Self.pluginOverrideKeys)
                }
            }
            pluginPolicies[plugin] = policy
        }
    }

    /// The members of an object the config file must give at `key`.
    private static func fields(
        _ value: JSONValue, key: String, source: String
    ) throws(DaemonConfigurationError) -> JSONObject {
        guard let fields = value.objectValue else {
            throw DaemonConfigurationError(source: source, key: key, "must be an object, not \(value.typeName)")
        }
        return fields
    }

    private static func wrong(
        _ value: JSONValue, key: String, source: String, _ expected: String
    ) -> DaemonConfigurationError {
        DaemonConfigurationError(
            source: source, key: key, "must be \(expected), not \(value.serializedString) (\(value.typeName))")
    }

    /// An integer cap in 1...4096 (a manifest's `maxConcurrency` range).
    private static func positive(_ value: JSONValue, key: String, source: String) throws(DaemonConfigurationError)
        -> Int
    {
        guard case .int = value, let number = value.intValue, number >= 1, number <= 4096 else {
            throw wrong(value, key: key, source: source, "an integer in 1...4096")
        }
        return Int(number)
    }

    /// A timeout cap in milliseconds, in the range a manifest's `timeoutMs` and a call's own timeout have.
    private static func timeoutMs(_ value: JSONValue, key: String, source: String) throws(DaemonConfigurationError)
        -> Int
    {
        let range = ToolCall.timeoutMillisecondsRange
        guard case .int = value, let number = value.intValue, range.contains(number) else {
            throw wrong(value, key: key, source: source, "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(number)
    }

    /// The longest cache TTL, in seconds: a year, as a manifest's `cache.ttlSeconds`.
    static let maximumTTLSeconds: Double = 31_536_000

    /// A TTL cap: a number of seconds in 0...``maximumTTLSeconds``.
    private static func seconds(_ value: JSONValue, key: String, source: String) throws(DaemonConfigurationError)
        -> Double
    {
        guard let seconds = value.doubleValue, seconds >= 0, seconds <= maximumTTLSeconds else {
            throw wrong(value, key: key, source: source, "a number of seconds in 0...\(Int(maximumTTLSeconds))")
        }
        return seconds
    }

    /// Splits `HOST:PORT` (`[::1]:8080` too).
    /// - Returns: the host without brackets and the port, or nil when it is not that shape.
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }
}
