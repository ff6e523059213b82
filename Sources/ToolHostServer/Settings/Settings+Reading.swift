import Foundation
import Logging
import ToolHost
import ToolHostJSON

extension Settings {
    /// Reads every source in order of precedence: the config file (`configFile`, else `$TOOLHOST_CONFIG`), then the
    /// environment, then the flags, each over the one before.
    /// - Parameters:
    ///   - configFile: `--config`, if given.
    ///   - environment: the process environment.
    ///   - flags: the flags the user gave, by name (`--listen`), with the text typed; a repeatable flag once per use.
    /// - Throws: `SettingsError` naming the source and the key.
    public mutating func apply(
        configFile: String?, environment: [String: String], flags: [(flag: String, value: String)]
    ) throws(SettingsError) {
        if let file = configFile ?? environment["TOOLHOST_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            try apply(file: file)
        }
        try apply(environment: environment)
        try apply(flags: flags)
        try checkSignatures()
    }

    /// `signatures: require` trusts only the keys of a trust store, so it needs one.
    /// - Throws: `SettingsError` when `signatures` is `require` and no `trustedKeysDirectory` is set.
    public func checkSignatures() throws(SettingsError) {
        guard host.signatures.mode == .require, host.signatures.trustedKeysDirectory == nil else { return }
        throw SettingsError(
            source: "settings", key: "signatures",
            "is require, which needs a trust store: set trustedKeysDirectory (TOOLHOST_TRUSTED_KEYS, --trusted-keys) "
                + "to a directory of the .pub files of the keys to trust")
    }

    /// Applies a JSON config file. Every key must be known and of the right type.
    /// - Parameter path: the file.
    /// - Throws: `SettingsError` naming the file and the key.
    public mutating func apply(file path: String) throws(SettingsError) {
        let source = "config file \(path)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError(source: source, key: nil, "cannot be read (does it exist?)")
        }
        try apply(fileContents: Array(data), source: source)
        sources.append(path)
    }

    /// Applies the contents of a JSON config file.
    /// - Parameters:
    ///   - bytes: the file's bytes.
    ///   - source: names the file in errors.
    /// - Throws: `SettingsError` naming the key.
    public mutating func apply(fileContents bytes: [UInt8], source: String) throws(SettingsError) {
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw SettingsError(source: source, key: nil, "is not valid JSON: \(error)")
        }
        guard let object = root.objectValue else {
            throw SettingsError(source: source, key: nil, "must hold a JSON object, not \(root.typeName)")
        }
        let table = Self.table
        for (key, value) in object {
            switch key {
            case "limits", "agents", "cache", "tracing":
                guard let section = value.objectValue else {
                    throw SettingsError(source: source, key: key, "must be an object, not \(value.typeName)")
                }
                for (subkey, subvalue) in section {
                    let dotted = key + "." + subkey
                    guard let setting = table.first(where: { $0.key == dotted }) else {
                        throw Self.unknown(
                            dotted, source: source, known: table.map(\.key).filter { $0.hasPrefix(key + ".") })
                    }
                    try set(setting, json: subvalue, source: source)
                }
            case "pluginOverrides":
                try applyPluginOverrides(value, source: source)
            default:
                guard let setting = table.first(where: { $0.key == key && !$0.key.contains(".") }) else {
                    let known =
                        table.map(\.key).filter { !$0.contains(".") } + [
                            "limits", "agents", "cache", "tracing", "pluginOverrides",
                        ]
                    throw Self.unknown(key, source: source, known: known)
                }
                try set(setting, json: value, source: source)
            }
        }
    }

    /// Applies the `TOOLHOST_*` environment variables that are set (an empty one counts as unset).
    /// - Parameter environment: the process environment.
    /// - Throws: `SettingsError` naming the variable.
    public mutating func apply(environment: [String: String]) throws(SettingsError) {
        var used = false
        for setting in Self.table {
            guard let value = environment[setting.environment], !value.isEmpty else { continue }
            let source = "environment variable \(setting.environment)"
            if setting.isList {
                for item in value.split(separator: ",") {
                    try set(setting, text: item.trimmingCharacters(in: .whitespaces), source: source, key: nil)
                }
            } else {
                try set(setting, text: value, source: source, key: nil)
            }
            used = true
        }
        if used { sources.append("environment") }
    }

    /// Applies command-line flags, given by their names (`--listen`) with the text the user typed.
    /// - Throws: `SettingsError` naming the flag.
    public mutating func apply(flags: [(flag: String, value: String)]) throws(SettingsError) {
        for (flag, value) in flags {
            guard let setting = Self.table.first(where: { $0.flag == flag }) else {
                throw SettingsError(source: "command line", key: flag, "is not a setting")
            }
            try set(setting, text: value, source: "command line", key: flag)
        }
        if !flags.isEmpty { sources.append("flags") }
    }

    // MARK: values

    private static func unknown(_ key: String, source: String, known: [String]) -> SettingsError {
        SettingsError(source: source, key: key, "is not a known key (known here: \(known.joined(separator: ", ")))")
    }

    /// What a setting accepts, for messages: "an integer in 1...86400000", "a number of seconds in 0...3600".
    private static func expected(_ kind: Kind) -> String {
        switch kind {
        case .text, .optionalText, .stateDirectory: "a non-empty string"
        case .listen, .optionalListen: "HOST:PORT (port 0...65535)"
        case .integer(_, let range):
            range.upperBound == .max
                ? "an integer ≥ \(range.lowerBound)" : "an integer in \(range.lowerBound)...\(range.upperBound)"
        case .duration(_, let unit, let range):
            "an integer number of \(unit.rawValue) in \(range.lowerBound)...\(range.upperBound)"
        case .seconds(_, let range):
            "a number of seconds in \(range.lowerBound.rounded() == range.lowerBound ? "\(Int(range.lowerBound))" : "\(range.lowerBound)")...\(Int(range.upperBound))"
        case .boolean, .optionalBoolean: "true or false"
        case .isolation: "inprocess or process"
        case .signatures: "off, warn or require"
        case .mcpResultContent: "both, text or structured"
        case .logLevel: "one of trace, debug, info, notice, warning, error, critical"
        case .libraries: "a library soname such as libfoo.so.1"
        case .agentQuotas: "AGENT=N, an agent name and its quota of calls at once (N ≥ 1)"
        case .otlpEndpoint: "an http:// or https:// URL such as http://127.0.0.1:4318"
        case .ratio: "a number in 0...1"
        case .otlpProtocol: "http/protobuf or http/json"
        }
    }

    /// Checks a file value's JSON type, then sets it as text is set.
    private mutating func set(_ setting: Setting, json value: JSONValue, source: String) throws(SettingsError) {
        func wrong() -> SettingsError {
            let expected =
                if case .libraries = setting.kind { "an array of sonames" } else { Self.expected(setting.kind) }
            return SettingsError(
                source: source, key: setting.key,
                "must be \(expected), not \(value.serializedString) (\(value.typeName))")
        }
        switch setting.kind {
        case .text, .optionalText, .listen, .optionalListen, .stateDirectory, .isolation, .signatures, .logLevel,
            .mcpResultContent, .otlpEndpoint, .otlpProtocol:
            guard let text = value.stringValue else { throw wrong() }
            try set(setting, text: text, source: source, key: setting.key)
        case .boolean, .optionalBoolean:
            guard case .bool(let flag) = value else { throw wrong() }
            try set(setting, text: flag ? "true" : "false", source: source, key: setting.key)
        case .integer, .duration:
            guard case .int = value, let number = value.intValue else { throw wrong() }
            try set(setting, text: String(number), source: source, key: setting.key)
        case .seconds, .ratio:
            guard let number = value.doubleValue else { throw wrong() }
            try set(setting, text: String(number), source: source, key: setting.key)
        case .libraries:
            guard let items = value.arrayValue else { throw wrong() }
            for item in items {
                guard let soname = item.stringValue else { throw wrong() }
                try set(setting, text: soname, source: source, key: setting.key)
            }
        case .agentQuotas:
            guard let quotas = value.objectValue else {
                throw SettingsError(
                    source: source, key: setting.key,
                    "must be an object of agent names and quotas ({\"planner\": 8}), not \(value.typeName)")
            }
            for (agent, quota) in quotas {
                guard case .int = quota, let number = quota.intValue else {
                    throw SettingsError(
                        source: source, key: setting.key + "." + agent,
                        "must be an integer ≥ 1, not \(quota.serializedString)")
                }
                try set(setting, text: "\(agent)=\(number)", source: source, key: setting.key + "." + agent)
            }
        }
    }

    /// Parses and checks one value written as text (environment, flags; the file's values after their type check).
    private mutating func set(_ setting: Setting, text: String, source: String, key: String?) throws(SettingsError) {
        let invalid = SettingsError(source: source, key: key, "must be \(Self.expected(setting.kind)), not '\(text)'")
        switch setting.kind {
        case .text(let path):
            guard !text.isEmpty else { throw invalid }
            self[keyPath: path] = text
        case .optionalText(let path):
            guard !text.isEmpty else { throw invalid }
            self[keyPath: path] = text
        case .listen:
            guard HTTP.parseListen(text) != nil else { throw invalid }
            http.listen = text
        case .optionalListen(let path):
            guard HTTP.parseListen(text) != nil else { throw invalid }
            self[keyPath: path] = text
        case .stateDirectory:
            guard !text.isEmpty else { throw invalid }
            host.libraryStore = text + "/libs"
        case .integer(let path, let range):
            guard let number = Int(text), range.contains(number) else { throw invalid }
            self[keyPath: path] = number
        case .boolean(let path):
            guard let flag = Bool(text.lowercased()) else { throw invalid }
            self[keyPath: path] = flag
        case .optionalBoolean(let path):
            guard let flag = Bool(text.lowercased()) else { throw invalid }
            self[keyPath: path] = flag
        case .duration(let path, let unit, let range):
            guard let number = Int64(text), range.contains(number) else { throw invalid }
            self[keyPath: path] = unit.duration(number)
        case .seconds(let path, let range):
            guard let number = Double(text), range.contains(number) else { throw invalid }
            self[keyPath: path] = .milliseconds(Int64((number * 1000).rounded()))
        case .isolation:
            guard let mode = IsolationMode(rawValue: text) else { throw invalid }
            host.isolation.mode = mode
        case .signatures:
            guard let mode = SignatureMode(rawValue: text.lowercased()) else { throw invalid }
            host.signatures.mode = mode
        case .mcpResultContent:
            guard let form = MCPResultContent(rawValue: text.lowercased()) else { throw invalid }
            mcpResultContent = form
        case .logLevel:
            guard let level = Logger.Level(rawValue: text.lowercased()) else { throw invalid }
            logLevel = level
        case .libraries:
            guard !text.isEmpty, !text.contains("/") else { throw invalid }
            host.allowedSystemLibraries.insert(text)
        case .otlpEndpoint:
            guard Traces.isEndpoint(text) else { throw invalid }
            traces.endpoint = text
        case .ratio(let path):
            guard let number = Double(text), (0...1).contains(number) else { throw invalid }
            self[keyPath: path] = number
        case .otlpProtocol:
            guard let form = Traces.WireProtocol(rawValue: text.lowercased()) else { throw invalid }
            traces.wireProtocol = form
        case .agentQuotas:
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ToolCall.isValidAgentName(parts[0]), let quota = Int(parts[1]), quota >= 1 else {
                throw invalid
            }
            host.agents.quotas[parts[0]] = quota
        }
    }

    // MARK: pluginOverrides

    private mutating func applyPluginOverrides(_ value: JSONValue, source: String) throws(SettingsError) {
        guard let plugins = value.objectValue else {
            throw SettingsError(
                source: source, key: "pluginOverrides", "must be an object of plugin names, not \(value.typeName)")
        }
        for (plugin, overrides) in plugins {
            let prefix = "pluginOverrides.\(plugin)"
            var policy = host.pluginPolicies[plugin] ?? .init()
            for (field, value) in try Self.fields(overrides, key: prefix, source: source) {
                let key = prefix + "." + field
                switch field {
                case "timeoutMs": policy.timeoutMs = try Self.timeoutMs(value, key: key, source: source)
                case "maxConcurrency": policy.maxConcurrency = try Self.concurrency(value, key: key, source: source)
                case "toolMaxConcurrency":
                    policy.toolMaxConcurrency = try Self.concurrency(value, key: key, source: source)
                case "cacheTTLSeconds": policy.cacheTTLSeconds = try Self.ttl(value, key: key, source: source)
                case "isolation":
                    guard let text = value.stringValue, let mode = IsolationMode(rawValue: text) else {
                        throw Self.wrong(value, key: key, source: source, "\"inprocess\" or \"process\"")
                    }
                    host.isolation.overrides[plugin] = mode
                case "tools":
                    for (tool, caps) in try Self.fields(value, key: key, source: source) {
                        let toolKey = key + "." + tool
                        var toolPolicy = policy.tools[tool] ?? .init()
                        for (field, value) in try Self.fields(caps, key: toolKey, source: source) {
                            let key = toolKey + "." + field
                            switch field {
                            case "timeoutMs": toolPolicy.timeoutMs = try Self.timeoutMs(value, key: key, source: source)
                            case "maxConcurrency":
                                toolPolicy.maxConcurrency = try Self.concurrency(value, key: key, source: source)
                            case "cacheTTLSeconds":
                                toolPolicy.cacheTTLSeconds = try Self.ttl(value, key: key, source: source)
                            case "weight":
                                // Not a cap: the tool's weight as a capability provider, over the manifest's.
                                guard let weight = value.doubleValue, Self.weightRange.contains(weight) else {
                                    throw Self.wrong(
                                        value, key: key, source: source,
                                        "a number in \(Self.weightRange.lowerBound)...\(Self.weightRange.upperBound)")
                                }
                                host.capabilities.weights[plugin + "." + tool] = weight
                            default:
                                throw Self.unknown(key, source: source, known: Self.toolOverrideKeys)
                            }
                        }
                        policy.tools[tool] = toolPolicy
                    }
                default:
                    throw Self.unknown(key, source: source, known: Self.pluginOverrideKeys)
                }
            }
            host.pluginPolicies[plugin] = policy
        }
    }

    /// The members of an object the config file must give at `key`.
    private static func fields(_ value: JSONValue, key: String, source: String) throws(SettingsError) -> JSONObject {
        guard let fields = value.objectValue else {
            throw SettingsError(source: source, key: key, "must be an object, not \(value.typeName)")
        }
        return fields
    }

    private static func wrong(_ value: JSONValue, key: String, source: String, _ expected: String) -> SettingsError {
        SettingsError(
            source: source, key: key, "must be \(expected), not \(value.serializedString) (\(value.typeName))")
    }

    /// An integer in `range`.
    private static func integer(
        _ value: JSONValue, in range: ClosedRange<Int64>, key: String, source: String
    ) throws(SettingsError) -> Int {
        guard case .int = value, let number = value.intValue, range.contains(number) else {
            throw wrong(value, key: key, source: source, "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(number)
    }

    /// A timeout cap in milliseconds, in the range of a manifest's `timeoutMs` and a call's own timeout.
    private static func timeoutMs(_ value: JSONValue, key: String, source: String) throws(SettingsError) -> Int {
        try integer(value, in: ToolCall.timeoutMillisecondsRange, key: key, source: source)
    }

    /// A cap on calls at once, in the range of a manifest's `maxConcurrency`.
    private static func concurrency(_ value: JSONValue, key: String, source: String) throws(SettingsError) -> Int {
        try integer(value, in: concurrencyCapRange, key: key, source: source)
    }

    /// A TTL cap: a number of seconds in 0...``maximumTTLSeconds``.
    private static func ttl(_ value: JSONValue, key: String, source: String) throws(SettingsError) -> Double {
        guard let seconds = value.doubleValue, seconds >= 0, seconds <= maximumTTLSeconds else {
            throw wrong(value, key: key, source: source, "a number of seconds in 0...\(Int(maximumTTLSeconds))")
        }
        return seconds
    }
}
