import Foundation
import ToolHostJSON

extension PluginManifest {
    /// The file name of a manifest inside a plugin directory.
    public static let fileName = "manifest.json"

    /// Reads and checks `manifest.json` in a plugin directory.
    ///
    /// - Parameter directory: the plugin directory.
    /// - Returns: the manifest, with every tool's input schema compiled.
    /// - Throws: `ManifestError` listing every problem found.
    public static func load(directory: String) throws(ManifestError) -> PluginManifest {
        let path = directory + "/" + fileName
        return try parse(readBytes(path), file: path)
    }

    /// The largest manifest read, in bytes: a manifest declares tools, it does not carry data (the biggest bundled
    /// one is ~10 KB); a bigger file is refused before it is read.
    public static let maximumBytes = 4 << 20

    /// Reads a manifest file, refusing one over ``maximumBytes`` before reading it.
    /// - Throws: `ManifestError` when it is missing, unreadable or too large.
    static func readBytes(_ path: String) throws(ManifestError) -> [UInt8] {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maximumBytes {
            throw ManifestError(
                file: path,
                problems: [
                    .init(
                        path: "", message: "the manifest is \(size) bytes, over the \(maximumBytes)-byte limit",
                        hint: "a manifest declares tools; keep data out of it")
                ])
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= maximumBytes else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ManifestError(
                file: path,
                problems: [
                    .init(
                        path: "", message: exists ? "cannot read the manifest" : "no manifest.json",
                        hint: exists
                            ? "check the file's permissions"
                            : "every plugin directory needs a manifest.json (see plugin-sdk/manifest.schema.json)")
                ])
        }
        return Array(data)
    }

    /// Parses and checks a manifest: JSON syntax, the published schema, then the rules a schema cannot say.
    ///
    /// - Parameters:
    ///   - bytes: the UTF-8 text of the manifest.
    ///   - file: the file name used in messages.
    /// - Throws: `ManifestError` listing every problem found.
    public static func parse(_ bytes: [UInt8], file: String) throws(ManifestError) -> PluginManifest {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw ManifestError(
                file: file,
                problems: [.init(path: "", message: "not valid JSON: \(error)", hint: "fix the JSON syntax")])
        }
        let violations = ManifestSchema.compiled.validate(json)
        if !violations.isEmpty {
            throw ManifestError(file: file, problems: problems(for: violations, in: json))
        }
        var manifest = decode(json)
        manifest.text = bytes
        let problems = nativeProblems(json, manifest) + semanticProblems(manifest)
        if !problems.isEmpty {
            throw ManifestError(file: file, problems: problems)
        }
        return manifest
    }

    /// One violation as a problem with its fix; the message without the pointer, which the problem shows once.
    static func problem(for violation: JSONSchemaViolation) -> ManifestError.Problem {
        let hint: String
        switch violation.keyword {
        case "required": hint = "add the missing field (see plugin-sdk/manifest.schema.json)"
        case "additionalProperties":
            hint = "remove the field or correct its spelling; the fields are listed in plugin-sdk/manifest.schema.json"
        case "type": hint = "use a value of the type the schema names"
        case "pattern": hint = "use only the characters the pattern allows"
        case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum": hint = "use a value within the range"
        case "uniqueItems": hint = "remove the repeated entry"
        default: hint = "see plugin-sdk/manifest.schema.json for what this field accepts"
        }
        let path = violation.instancePath.description
        let message =
            violation.message.hasPrefix(path + ": ")
            ? String(violation.message.dropFirst(path.count + 2)) : violation.message
        return .init(path: path, message: message, hint: hint)
    }

    /// Builds the manifest from JSON that already passed the schema.
    private static func decode(_ json: JSONValue) -> PluginManifest {
        let abi = json["abi"]
        let library = json["library"]
        let tools = (json["tools"]?.arrayValue ?? []).map { tool -> ToolManifest in
            var manifest = decodeTool(tool)
            manifest.maxOutputBytes = tool["maxOutputBytes"]?.intValue.map { Int($0) }
            manifest.examples = (tool["examples"]?.arrayValue ?? []).map { example in
                let expected: ToolManifest.Example.Expectation
                if let result = example["result"] {
                    expected = .result(result)
                } else if let code = example["error"]?.stringValue {
                    expected = .error(code)
                } else {
                    expected = .success
                }
                return .init(arguments: example["arguments"] ?? [:], expected: expected)
            }
            manifest.maxResultBytes = tool["maxResultBytes"]?.intValue.map { Int($0) }
            manifest.provides = tool["provides"]?.arrayValue?.compactMap(\.stringValue) ?? []
            manifest.weight = tool["weight"]?.doubleValue
            return manifest
        }
        func decodeTool(_ tool: JSONValue) -> ToolManifest {
            let cache = tool["cache"]
            let retries = tool["retries"]
            var native: ToolManifest.Native?
            var inputSchema = tool["inputSchema"] ?? ["type": "object"]
            if let text = tool["signature"]?.stringValue, let signature = try? NativeSignature(parsing: text) {
                native = .init(
                    symbol: tool["symbol"]?.stringValue, signature: signature,
                    freeReturn: tool["freeReturn"]?.stringValue, threadSafe: tool["threadSafe"]?.boolValue ?? false)
                inputSchema = signature.inputSchema
            }
            return ToolManifest(
                name: tool["name"]?.stringValue ?? "",
                description: tool["description"]?.stringValue ?? "",
                inputSchema: inputSchema,
                deterministic: tool["deterministic"]?.boolValue ?? false,
                idempotent: tool["idempotent"]?.boolValue ?? false,
                cache: .init(
                    ttlSeconds: cache?["ttlSeconds"]?.doubleValue,
                    nonCacheableParams: cache?["nonCacheableParams"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                    scope: cache?["scope"]?.stringValue.flatMap(ToolManifest.CachePolicy.Scope.init(rawValue:))
                        ?? .shared),
                timeoutMs: tool["timeoutMs"]?.intValue.map { Int($0) },
                priority: tool["priority"]?.intValue.map { Int($0) } ?? 0,
                maxConcurrency: tool["maxConcurrency"]?.intValue.map { Int($0) },
                retries: .init(
                    maxAttempts: retries?["maxAttempts"]?.intValue.map { Int($0) } ?? 1,
                    initialBackoffMs: retries?["initialBackoffMs"]?.intValue.map { Int($0) } ?? 10),
                capabilities: tool["capabilities"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                native: native)
        }
        var manifest = PluginManifest(
            name: json["name"]?.stringValue ?? "",
            version: json["version"]?.stringValue ?? "",
            description: json["description"]?.stringValue,
            abi: .init(
                major: abi?["major"]?.intValue.map { Int($0) } ?? 0,
                minor: abi?["minor"]?.intValue.map { Int($0) } ?? 0),
            library: .init(
                file: library?["file"]?.stringValue ?? library?["system"]?.stringValue ?? "",
                sha256: library?["sha256"]?.stringValue, isSystem: library?["system"] != nil),
            maxConcurrency: json["maxConcurrency"]?.intValue.map { Int($0) },
            tools: tools)
        manifest.isolation = json["isolation"]?.stringValue.flatMap(IsolationMode.init(rawValue:)) ?? .inprocess
        manifest.limits = .init(
            memoryMB: json["limits"]?["memoryMB"]?.intValue.map { Int($0) },
            cpuSeconds: json["limits"]?["cpuSeconds"]?.intValue.map { Int($0) },
            network: json["limits"]?["network"]?.boolValue)
        return manifest
    }

    /// The rules of typed native tools: a signature that parses, a symbol or registration, no input schema.
    private static func nativeProblems(_ json: JSONValue, _ manifest: PluginManifest) -> [ManifestError.Problem] {
        var problems: [ManifestError.Problem] = []
        if manifest.library.isSystem && manifest.library.sha256 != nil {
            problems.append(
                .init(
                    path: "/library/sha256", message: "a system library has no pinned sha256",
                    hint: "remove sha256, or ship the library in the plugin directory as \"file\""))
        }
        for (index, tool) in (json["tools"]?.arrayValue ?? []).enumerated() {
            let name = tool["name"]?.stringValue ?? "?"
            let path = "/tools/\(index)"
            guard let text = tool["signature"]?.stringValue else {
                for field in ["symbol", "freeReturn", "threadSafe"] where tool[field] != nil {
                    problems.append(
                        .init(
                            path: path + "/" + field, message: "'\(field)' of '\(name)' needs a \"signature\"",
                            hint: "add the C prototype as \"signature\", or remove '\(field)'"))
                }
                if tool["inputSchema"] == nil {
                    problems.append(
                        .init(
                            path: path, message: "tool '\(name)' has neither an inputSchema nor a signature",
                            hint: "describe the arguments with \"inputSchema\", or declare a typed tool's \"signature\""
                        ))
                }
                if manifest.library.isSystem {
                    problems.append(
                        .init(
                            path: path, message: "tool '\(name)' of a system library needs a symbol and a signature",
                            hint: "a system library has no registration entry: declare \"symbol\" and \"signature\""))
                }
                continue
            }
            let signature: NativeSignature
            do {
                signature = try NativeSignature(parsing: text)
            } catch {
                problems.append(
                    .init(
                        path: path + "/signature", message: "signature of '\(name)': \(error)",
                        hint: "write it as 'returnType (type name, …)', for example \"double (double x, double y)\""))
                continue
            }
            if tool["inputSchema"] != nil {
                problems.append(
                    .init(
                        path: path + "/inputSchema", message: "typed tool '\(name)' must not declare an inputSchema",
                        hint: "remove inputSchema: it is generated from the signature"))
            }
            if tool["freeReturn"] != nil && signature.returns != .string {
                problems.append(
                    .init(
                        path: path + "/freeReturn", message: "'\(name)' does not return a string, so nothing is freed",
                        hint: "remove freeReturn"))
            }
            if tool["symbol"] == nil && manifest.library.isSystem {
                problems.append(
                    .init(
                        path: path, message: "tool '\(name)' of a system library needs a symbol",
                        hint: "name the C function as \"symbol\""))
            }
            if tool["threadSafe"] != nil && tool["symbol"] == nil {
                problems.append(
                    .init(
                        path: path + "/threadSafe",
                        message: "'\(name)' is registered through the C ABI, whose flags say whether it is thread-safe",
                        hint: "remove threadSafe, or set TOOLHOST_TOOL_THREAD_SAFE at registration"))
            }
        }
        return problems
    }

    /// The rules the schema cannot express: unique tool names, compilable input schemas, a known ABI.
    private static func semanticProblems(_ manifest: PluginManifest) -> [ManifestError.Problem] {
        var problems: [ManifestError.Problem] = []
        if manifest.abi.major != HostABI.major {
            problems.append(
                .init(
                    path: "/abi/major",
                    message: "ABI major \(manifest.abi.major) is not the host's \(HostABI.major)",
                    hint: "rebuild the plugin against toolhost.h of ABI \(HostABI.major).x and update \"abi\""))
        } else if manifest.abi.minor > HostABI.minor {
            problems.append(
                .init(
                    path: "/abi/minor",
                    message: "ABI \(manifest.abi) is newer than the host's \(HostABI.major).\(HostABI.minor)",
                    hint: "upgrade toolhost, or build the plugin against the host's older header"))
        }
        var seen: Set<String> = []
        // The first tool of this manifest to provide each capability, and its index.
        var providers: [String: Int] = [:]
        for (index, tool) in manifest.tools.enumerated() {
            for capability in tool.provides {
                guard let first = providers[capability] else {
                    providers[capability] = index
                    continue
                }
                let other = manifest.tools[first]
                if let difference = CapabilityConflict.schemaDifference(other.inputSchema, tool.inputSchema) {
                    problems.append(
                        .init(
                            path: "/tools/\(index)/provides",
                            message: "tools '\(other.name)' and '\(tool.name)' both provide capability "
                                + "'\(capability)' but their input schemas differ (\(difference))",
                            hint: CapabilityConflict.hint))
                }
            }
            if !seen.insert(tool.name).inserted {
                problems.append(
                    .init(
                        path: "/tools/\(index)/name", message: "tool name '\(tool.name)' is declared twice",
                        hint: "give every tool of the plugin its own name"))
            }
            if tool.inputSchema["type"]?.stringValue != "object" {
                problems.append(
                    .init(
                        path: "/tools/\(index)/inputSchema/type",
                        message: "the input schema of '\(tool.name)' must have \"type\": \"object\"",
                        hint: "tool arguments are a JSON object; describe its fields under \"properties\""))
            }
            do {
                _ = try JSONSchema(tool.inputSchema)
            } catch {
                let hint =
                    error.code == .invalidPattern
                    ? "write the pattern in ECMA-262 syntax without back-references or lookaround, and keep "
                        + "counted repetitions small: toolhost matches patterns in time linear in the input and "
                        + "refuses what cannot be matched that way"
                    : "use only the JSON Schema 2020-12 keywords toolhost supports: "
                        + JSONSchema.supportedKeywords.sorted().joined(separator: ", ")
                problems.append(
                    .init(
                        path: "/tools/\(index)/inputSchema",
                        message: "the input schema of '\(tool.name)' is not usable: \(error)", hint: hint))
            }
        }
        return problems
    }
}
