import Foundation
import Synchronization
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

/// Runs the built `toolhost` binary over the bundled plugins, as a user would after `swift build`.
@Suite(.serialized) struct CLITests {
    static let binary = Fixtures.binary

    /// The bundled plugins staged by the project's own script into a temporary plugins directory, once.
    private static let staged = Mutex<String?>(nil)

    static func bundled() async throws -> String {
        if let directory = staged.withLock({ $0 }) { return directory }
        let directory = Fixtures.temporaryDirectory("toolhost-bundled")
        let result = try await Fixtures.run(
            "/bin/bash", [Fixtures.root + "/scripts/stage-plugins.sh", directory, Self.configuration])
        guard result.status == 0 else { throw FixtureError("stage-plugins.sh failed: \(result.stderr)") }
        staged.withLock { $0 = directory }
        return directory
    }

    static var configuration: String {
        Fixtures.productsDirectory.hasSuffix("/release") ? "release" : "debug"
    }

    private func toolhost(_ arguments: [String], input: String? = nil) async throws -> Fixtures.ProcessResult {
        try await Fixtures.run(
            Self.binary, arguments, input: input,
            environment: ["TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory("toolhost-state")])
    }

    @Test func listsTheBundledTools() async throws {
        let result = try await toolhost(["list", "--plugins", try await Self.bundled()])
        #expect(result.status == 0)
        for name in ["textkit.stats", "textkit.sha256", "textkit.slugify", "regexkit.match", "jsonkit.pointer"] {
            #expect(result.stdout.contains(name))
        }
    }

    @Test func listJSONHasTheDocumentedFields() async throws {
        let result = try await toolhost(["list", "--plugins", try await Self.bundled(), "--json"])
        #expect(result.status == 0)
        let tools = try #require(try JSONValue.parse(result.stdout).arrayValue)
        let slugify = try #require(tools.first { $0["name"]?.stringValue == "textkit.slugify" }?.objectValue)
        // Every documented field, each with the manifest's value; nothing else.
        #expect(
            Set(slugify.keys) == [
                "name", "plugin", "version", "description", "inputSchema", "deterministic", "idempotent", "priority",
                "capabilities", "provides", "cacheTTLSeconds", "timeoutMs",
            ])
        #expect(slugify["plugin"] == "textkit")
        #expect(slugify["version"] == "1.0.0")
        #expect(slugify["description"]?.stringValue?.isEmpty == false)
        #expect(slugify["inputSchema"]?["type"] == "object")
        #expect(slugify["deterministic"] == true)
        #expect(slugify["idempotent"] == false)
        #expect(slugify["priority"] == 0)
        #expect(slugify["capabilities"] == [])
        #expect(slugify["cacheTTLSeconds"]?.doubleValue == 3600)
        #expect(slugify["timeoutMs"] == 2000)
    }

    /// The CLI reads the daemon's settings: `--config` and its `pluginOverrides` cap `toolhost call` as they cap
    /// `serve`, and a bad key in the file stops it naming the key.
    @Test func callAppliesTheConfigFilesPluginOverrides() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-cli-config")
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: try await Fixtures.compile())
        let config = Fixtures.temporaryDirectory("toolhost-cli-config") + ".json"
        try Data(#"{"pluginOverrides": {"probe": {"timeoutMs": 100}}}"#.utf8).write(to: URL(fileURLWithPath: config))
        let capped = try await toolhost([
            "call", "--plugins", plugins, "--config", config, "probe.sleep", #"{"ms": 5000}"#,
        ])
        #expect(capped.status == 4, "\(capped.stderr)")
        #expect(capped.stderr.contains("the operator's timeoutMs for its plugin"))

        try Data(#"{"pluginOverides": {}}"#.utf8).write(to: URL(fileURLWithPath: config))
        let refused = try await toolhost(["call", "--plugins", plugins, "--config", config, "probe.echo"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("'pluginOverides' is not a known key"))
    }

    @Test func callsTheCPlugin() async throws {
        let slug = try await toolhost([
            "call", "--plugins", try await Self.bundled(), "textkit.slugify", #"{"text": "Hello, World!"}"#,
        ])
        #expect(slug.status == 0, "\(slug.stderr)")
        #expect(try JSONValue.parse(slug.stdout) == ["slug": "hello-world"])

        let sha = try await toolhost([
            "call", "--plugins", try await Self.bundled(), "textkit.sha256", #"{"text": "abc"}"#,
        ])
        #expect(
            try JSONValue.parse(sha.stdout)
                == ["sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"])

        let stats = try await toolhost(
            ["call", "--plugins", try await Self.bundled(), "textkit.stats", "-"],
            input: #"{"text": "Grüße, Welt.\nZwei"}"#)
        #expect(
            try JSONValue.parse(stats.stdout)
                == ["bytes": 19, "characters": 17, "words": 3, "lines": 2, "sentences": 1])

        let regex = try await toolhost(
            [
                "call", "--plugins", try await Self.bundled(), "regexkit.match",
                #"{"pattern": "[0-9]+", "text": "ab 123 c"}"#,
            ])
        #expect(try JSONValue.parse(regex.stdout) == ["matches": true, "start": 3, "end": 6, "match": "123"])
    }

    @Test func callsTheSwiftPlugin() async throws {
        let result = try await toolhost(
            [
                "call", "--plugins", try await Self.bundled(), "jsonkit.pointer",
                #"{"document": {"a": [10, 20]}, "pointer": "/a/1"}"#,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try JSONValue.parse(result.stdout) == ["found": true, "value": 20])
        let patch = try await toolhost(
            [
                "call", "--plugins", try await Self.bundled(), "jsonkit.merge_patch",
                #"{"document": {"a": 1, "b": 2}, "patch": {"b": null, "c": 3}}"#,
            ])
        #expect(try JSONValue.parse(patch.stdout) == ["document": ["a": 1, "c": 3]])
    }

    @Test(arguments: [
        (["nope.tool", "{}"], Int32(2), "not_found"),
        (["textkit.slugify", #"{"text": 5}"#], Int32(3), "invalid_arguments"),
        (["textkit.slugify", "{oops"], Int32(3), "invalid_arguments"),
        (["regexkit.match", #"{"pattern": "(", "text": ""}"#], Int32(3), "invalid_arguments"),
        // Patterns whose cost has no bound in glibc are refused before regcomp, naming why.
        (["regexkit.match", #"{"pattern": "((a{1,100}){1,100}){1,100}", "text": "a"}"#], Int32(3), "expand to more"),
        (["regexkit.match", #"{"pattern": "(a)\\1", "text": "aa"}"#], Int32(3), "back-references"),
    ])
    func failuresHaveTheirExitCode(arguments: [String], status: Int32, code: String) async throws {
        let result = try await toolhost(["call", "--plugins", try await Self.bundled()] + arguments)
        #expect(result.status == status)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains(code))
        #expect(result.stderr.split(separator: "\n").count == 1, "one clear line: \(result.stderr)")
    }

    /// `--timeout-ms 9223372036855` once overflowed the deadline arithmetic and crashed the CLI (SIGILL): numbers
    /// are range-checked where they enter, exit 64 naming the flag and its range.
    @Test(arguments: [
        (["--timeout-ms", "9223372036855"], "--timeout-ms must be an integer in 1...86400000"),
        (["--timeout-ms", "0"], "--timeout-ms must be an integer in 1...86400000"),
        (["--priority", "5000"], "--priority must be an integer in -1000...1000"),
        (["--max-result-bytes", "10"], "--max-result-bytes must be an integer in 1024...1073741824 (bytes)"),
    ])
    func outOfRangeFlagsExit64NamingTheFlag(flags: [String], message: String) async throws {
        let result = try await toolhost(
            ["call", "--plugins", try await Self.bundled()] + flags + ["textkit.slugify", #"{"text": "a"}"#])
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    /// The bundled regex tool runs untrusted patterns: its inputs are bounded by its schema, and it runs in a
    /// worker process, so a pattern that takes glibc minutes costs the host nothing past the call's timeout: the
    /// worker that ran it is killed, not left computing on a core.
    @Test func anUntrustedPatternRunsInAWorkerThatItsTimeoutKills() async throws {
        var configuration = ToolHost.Configuration(
            pluginsDirectory: try await Self.bundled(), libraryStore: Fixtures.temporaryDirectory("toolhost-libs"))
        configuration.isolation.workerExecutable = Self.binary
        let host = ToolHost(configuration: configuration)
        defer { host.shutdown() }
        #expect(
            try await host.call("regexkit.match", arguments: ["pattern": "b+", "text": "abbc"]).json["match"] == "bb")
        #expect(host.plugins().first { $0.name == "regexkit" }?.isolation == .process)
        let worker = try #require(host.workerPids(plugin: "regexkit").first)

        let long = String(repeating: "a", count: 60_000) + "b"
        let slow = await host.call(
            ToolCall(
                tool: "regexkit.match", arguments: ["pattern": "(a|aa)*$", "text": .string(long)],
                timeout: .milliseconds(300)))
        #expect({ if case .failure(let error) = slow { error.code == .timeout } else { false } }(), "\(slow)")
        try await Fixtures.waitUntil("the worker that ran the pattern is gone") { kill(worker, 0) != 0 }

        let tooLong = await host.call(
            ToolCall(
                tool: "regexkit.match",
                arguments: ["pattern": "a", "text": .string(String(repeating: "a", count: 65_537))]))
        #expect({ if case .failure(let error) = tooLong { error.code == .invalidArguments } else { false } }())
        #expect(try await host.call("regexkit.match", arguments: ["pattern": "c$", "text": "abc"]).json["end"] == 3)
    }

    @Test func unavailablePluginExitCode() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(),
            libraryFrom: try await Fixtures.compile(defines: ["INIT_FAILS"]))
        let result = try await toolhost(["call", "--plugins", plugins, "probe.echo"])
        #expect(result.status == 6)
        #expect(result.stderr.contains("plugin_unavailable"))
        #expect(result.stderr.contains("init failed"))
    }

    @Test func toolErrorAndTimeoutExitCodes() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: try await Fixtures.compile())
        let failed = try await toolhost(["call", "--plugins", plugins, "probe.fail"])
        #expect(failed.status == 5)
        #expect(failed.stderr.contains("disk on fire"))
        let timedOut = try await toolhost([
            "call", "--plugins", plugins, "--timeout-ms", "50", "probe.sleep", #"{"ms": 5000}"#,
        ])
        #expect(timedOut.status == 4)
        #expect(timedOut.stderr.contains("timeout"))
    }

    /// Every bundled plugin declares examples, and `check` calls them in worker processes (rustkit only when cargo
    /// staged it).
    @Test func checkRunsTheBundledPluginsExamples() async throws {
        let bundled = try await Self.bundled()
        var plugins = ["textkit", "regexkit", "jsonkit", "mathlib", "zlib"]
        if FileManager.default.fileExists(atPath: bundled + "/rustkit/manifest.json") { plugins.append("rustkit") }
        for plugin in plugins {
            let result = try await toolhost(["check", bundled + "/" + plugin])
            #expect(result.status == 0, "\(plugin): \(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains(" answered as declared"), "\(plugin): \(result.stdout)")
        }
    }

    @Test func checkCallPrintsTheAnswerAndNeedsTwoValues() async throws {
        let textkit = try await Self.bundled() + "/textkit"
        let answered = try await toolhost(["check", textkit, "--call", "slugify", #"{"text": "A b"}"#])
        #expect(answered.status == 0, "\(answered.stdout)\(answered.stderr)")
        #expect(answered.stdout.contains(#"call: textkit.slugify {"text":"A b"} -> {"slug":"a-b"}"#))
        let half = try await toolhost(["check", textkit, "--call", "slugify"])
        #expect(half.status == 64)
        #expect(half.stderr.contains("--call takes two values, the tool and its arguments as one JSON object"))
        let notObject = try await toolhost(["check", textkit, "--call", "slugify", "[1]"])
        #expect(notObject.status == 64)
        #expect(notObject.stderr.contains("--call slugify: the arguments must be a JSON object"))
    }

    /// `list` no longer advertises retries a tool never gets, and says why.
    @Test func listWarnsAboutRetriesThatNeverApply() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        try Fixtures.install(
            in: plugins, folder: "probe",
            manifest: Fixtures.probeManifest(
                toolPolicy: [
                    "fail": ["retries": ["maxAttempts": 3]],
                    "flaky": ["retries": ["maxAttempts": 4], "idempotent": true],
                ]),
            libraryFrom: try await Fixtures.compile())
        let result = try await toolhost(["list", "--plugins", plugins])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: probe: tool 'fail': retries (maxAttempts 3) never apply"))
        #expect(!result.stdout.contains("3 attempts"))
        #expect(result.stdout.contains("4 attempts"))
    }

    @Test func checkPassesABundledPluginAndFailsABrokenOne() async throws {
        let good = try await toolhost(["check", try await Self.bundled() + "/textkit"])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains("ok: plugin 'textkit'"))

        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let broken = try Fixtures.install(
            in: plugins, folder: "probe",
            manifest: Fixtures.probeManifest(sha256: String(repeating: "1", count: 64), overrides: ["colour": "red"]),
            libraryFrom: try await Fixtures.compile())
        let bad = try await toolhost(["check", broken])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("colour"))
        #expect(bad.stdout.contains("fix:"))
    }

    @Test func keygenSignAndCheckUnderRequireNameTheKeyAndTheTrustStore() async throws {
        let keys = Fixtures.temporaryDirectory("toolhost-keys")
        let keygen = try await toolhost(["keygen", "--out", keys + "/release"])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let keyID = try #require(
            keygen.stdout.split(separator: "\n").first { $0.hasPrefix("key id: ") }?.dropFirst("key id: ".count))
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let directory = try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: try await Fixtures.compile())
        let trust = Fixtures.temporaryDirectory("toolhost-trust")
        let require = ["--signatures", "require", "--trusted-keys", trust]

        let unsigned = try await toolhost(["check", directory] + require)
        #expect(unsigned.status == 1)
        #expect(unsigned.stdout.contains("error: refused (signatures: require): plugin 'probe' is not signed"))
        let warned = try await toolhost(["check", directory, "--signatures", "warn", "--trusted-keys", trust])
        #expect(warned.status == 0, "a warning, not a problem: \(warned.stdout)")
        #expect(warned.stdout.contains("warning: signatures: plugin 'probe' is not signed"))

        let sign = try await toolhost(["sign", directory, "--key", keys + "/release.key"])
        #expect(sign.status == 0, "\(sign.stderr)")
        #expect(sign.stdout.contains("signed plugin 'probe' 1.0.0 with key \(keyID)"))
        let untrusted = try await toolhost(["check", directory] + require)
        #expect(untrusted.status == 1)
        #expect(untrusted.stdout.contains("signed by key \(keyID), which is not in the trust store \(trust)"))

        try FileManager.default.copyItem(atPath: keys + "/release.pub", toPath: trust + "/release.pub")
        let trusted = try await toolhost(["check", directory] + require)
        #expect(trusted.status == 0, "\(trusted.stdout)")
        #expect(trusted.stdout.contains("signed by trusted key \(keyID)"))
        let call = try await toolhost(["call", "--plugins", plugins, "probe.echo", #"{"a": 1}"#] + require)
        #expect(call.status == 0, "\(call.stderr)")

        // The library rebuilt after signing: refused, naming the key.
        let other = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"cli-tampered\""])
        try FileManager.default.removeItem(atPath: directory + "/libprobe.so")
        try FileManager.default.copyItem(atPath: other, toPath: directory + "/libprobe.so")
        let tampered = try await toolhost(["call", "--plugins", plugins, "probe.echo", #"{"a": 1}"#] + require)
        #expect(tampered.status == 6, "plugin_unavailable")
        #expect(tampered.stderr.contains("signature by key \(keyID) that does not match"), "\(tampered.stderr)")
    }

    @Test func checkReportsAnInitThatCrashesInsteadOfCrashing() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let crashing = try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(),
            libraryFrom: try await Fixtures.compile(defines: ["INIT_CRASHES"]))
        let result = try await toolhost(["check", crashing])
        #expect(result.status == 1, "a report, not a crash of check itself: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("signal 11") && result.stdout.contains("its init crashed"), "\(result.stdout)")
        #expect(result.stdout.contains("1 problem in"))
    }

    @Test func checkExplainsTypedToolMistakes() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        func install(_ folder: String, _ manifest: JSONValue) throws -> String {
            try Fixtures.install(in: plugins, folder: folder, manifest: manifest, libraryFrom: nil)
        }
        func manifest(library: JSONValue, signature: String, symbol: String) -> JSONValue {
            [
                "name": "m", "version": "1", "abi": ["major": 1, "minor": 1], "library": library,
                "tools": [
                    ["name": "t", "description": "d", "signature": .string(signature), "symbol": .string(symbol)]
                ],
            ]
        }
        let misspeltType = try install(
            "a", manifest(library: ["system": "libm.so.6"], signature: "doubel (double x)", symbol: "cbrt"))
        let missingSymbol = try install(
            "b", manifest(library: ["system": "libm.so.6"], signature: "double (double x)", symbol: "cbrtt"))
        let voidParameter = try install(
            "c", manifest(library: ["system": "libm.so.6"], signature: "double (void x)", symbol: "cbrt"))
        let notAllowed = try install(
            "d", manifest(library: ["system": "libc.so.6"], signature: "int32 (int32 x)", symbol: "abs"))
        let cases = [
            (misspeltType, "unknown type 'doubel'"), (missingSymbol, "symbol 'cbrtt'"),
            (voidParameter, "cannot be void"),
            (notAllowed, "allowlist"),
        ]
        for (directory, problem) in cases {
            let result = try await toolhost(["check", directory])
            #expect(result.status == 1)
            #expect(result.stdout.contains(problem), "\(result.stdout)")
        }
        let allowed = try await toolhost(["check", "--allow-system-library", "libc.so.6", notAllowed])
        #expect(allowed.status == 0, "\(allowed.stdout)")
        #expect(allowed.stdout.contains("t [int32 (int32 x)]"))
    }

    @Test func checkFailsOnAPatternThatCannotBeMatchedInLinearTime() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let schema: JSONValue = [
            "type": "object", "properties": ["word": ["type": "string", "pattern": "^(\\w+)\\s\\1$"]],
        ]
        let directory = try Fixtures.install(
            in: plugins, folder: "probe",
            manifest: Fixtures.probeManifest(toolPolicy: ["echo": ["inputSchema": schema]]),
            libraryFrom: try await Fixtures.compile())
        let result = try await toolhost(["check", directory])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("/tools/0/inputSchema") })
        #expect(line.contains("the input schema of 'echo' is not usable"), "\(line)")
        #expect(line.contains("/^(\\w+)\\s\\1$/ refused in 'pattern' at schema path '/properties/word/pattern'"))
        #expect(line.contains("back-references are not supported: they make matching exponential"), "\(line)")
        #expect(line.contains("fix: write the pattern in ECMA-262 syntax"), "\(line)")
    }

    /// The finding: a manifest pattern that backtracks catastrophically froze the host on 22 bytes of argument.
    @Test func aCatastrophicPatternAnswersTwentyTwoBytesAtOnce() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let schema: JSONValue = ["type": "object", "properties": ["s": ["type": "string", "pattern": "(a+)+$"]]]
        try Fixtures.install(
            in: plugins, folder: "probe",
            manifest: Fixtures.probeManifest(toolPolicy: ["echo": ["inputSchema": schema]]),
            libraryFrom: try await Fixtures.compile())
        let refused = try await toolhost([
            "call", "--plugins", plugins, "probe.echo", #"{"s": "aaaaaaaaaaaaaaaaaaaaa!"}"#,
        ])
        #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("does not match the pattern /(a+)+$/"), "\(refused.stderr)")
        let accepted = try await toolhost(["call", "--plugins", plugins, "probe.echo", #"{"s": "aaaa"}"#])
        #expect(accepted.status == 0, "\(accepted.stdout)\(accepted.stderr)")
    }

    @Test func callsTheTypedTools() async throws {
        let distance = try await toolhost(
            ["call", "--plugins", try await Self.bundled(), "textkit.levenshtein", #"{"a": "kitten", "b": "sitting"}"#])
        #expect(distance.status == 0, "\(distance.stderr)")
        #expect(try JSONValue.parse(distance.stdout) == ["result": 3])
        let hypot = try await toolhost([
            "call", "--plugins", try await Self.bundled(), "mathlib.hypot", #"{"x": 5, "y": 12}"#,
        ])
        #expect(try JSONValue.parse(hypot.stdout) == ["result": 13])
        let overflow = try await toolhost(
            ["call", "--plugins", try await Self.bundled(), "zlib.crc32", #"{"crc": -1, "data": ""}"#])
        #expect(overflow.status == 3)
        #expect(overflow.stderr.contains("/crc"))
    }

    /// `--agent` names the caller in the host's log lines (the default is the login name); a name that is not one
    /// is refused before anything runs.
    @Test func callNamesItsAgentInTheLog() async throws {
        let plugins = try await Self.bundled()
        let named = try await toolhost(
            ["call", "--plugins", plugins, "--log-level", "debug", "--agent", "ci-bot", "textkit.slugify", "{}"])
        #expect(named.status == 3)
        #expect(named.stderr.contains("agent=ci-bot"), "stderr: \(named.stderr)")
        let login = String(cString: getpwuid(geteuid())!.pointee.pw_name)
        let unnamed = try await toolhost([
            "call", "--plugins", plugins, "--log-level", "debug", "textkit.slugify", "{}",
        ])
        #expect(unnamed.stderr.contains("agent=\(login)"), "stderr: \(unnamed.stderr)")
        let refused = try await toolhost([
            "call", "--plugins", plugins, "--agent", "two words", "textkit.slugify", "{}",
        ])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--agent 'two words' is not an agent name"), "stderr: \(refused.stderr)")
    }

    @Test func batchKeepsInputOrderAndReportsBadLines() async throws {
        let input =
            [
                #"{"tool": "textkit.slugify", "arguments": {"text": "A B"}}"#,
                #"not json"#,
                #"{"tool": "textkit.slugify", "arguments": {"text": "A B"}}"#,
                #"{"tool": "nope.x"}"#,
                #"{"tool": "textkit.sha256", "arguments": {"text": ""}, "priority": 5, "timeoutMs": 1000}"#,
                #"{"tool": "textkit.sha256", "arguments": {"text": ""}, "timeoutMs": 9223372036855}"#,
            ].joined(separator: "\n") + "\n"
        let result = try await toolhost(
            ["batch", "--plugins", try await Self.bundled(), "--concurrency", "1", "-"], input: input)
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map { try? JSONValue.parse(String($0)) }
        #expect(lines.count == 6)
        #expect(lines.map { $0?["line"]?.intValue } == [1, 2, 3, 4, 5, 6])
        #expect(lines[0]?["ok"] == true && lines[0]?["result"] == ["slug": "a-b"] && lines[0]?["cached"] == false)
        #expect(lines[1]?["ok"] == false && lines[1]?["error"]?["code"] == "invalid_arguments")
        #expect(lines[2]?["cached"] == true, "the identical call is served from the cache")
        #expect(lines[3]?["error"]?["code"] == "not_found")
        #expect(lines[4]?["ok"] == true)
        // Out of range: an error line naming the field and its range; the other lines still run.
        #expect(lines[5]?["error"]?["code"] == "invalid_arguments")
        #expect(
            lines[5]?["error"]?["message"]?.stringValue?.hasPrefix("timeoutMs must be an integer in 1...86400000")
                == true)
        #expect(result.stderr.contains("6 lines, 3 ok, 3 errors, 1 cached"))
    }

    /// A plugin's printf would land in the middle of what a script parses: `call` and `batch` print their results
    /// on a stdout of their own and send file descriptor 1 to stderr.
    @Test func callAndBatchKeepPluginOutputOffStdout() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-cli-print")
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: try await Fixtures.compile())
        let call = try await toolhost(["call", "--plugins", plugins, "probe.print"])
        #expect(call.status == 0, "\(call.stderr)")
        #expect(call.stdout == #"{"printed":true}"# + "\n")
        #expect(call.stderr.contains("probe says hello on stdout"))

        let line = #"{"tool": "probe.print", "arguments": {}}"#
        let batch = try await toolhost(["batch", "--plugins", plugins, "-"], input: line + "\n" + line + "\n")
        #expect(batch.status == 0, "\(batch.stderr)")
        let results = batch.stdout.split(separator: "\n").map { try? JSONValue.parse(String($0)) }
        #expect(results.count == 2 && results.allSatisfy { $0?["result"] == ["printed": true] }, "\(batch.stdout)")
        #expect(batch.stderr.contains("probe says hello on stdout"))
    }

    /// Plugin code runs on a thread with an 8 MiB stack (what the header promises), whatever the process's default
    /// (`ulimit -s`) is: in process on the host's threads, in a worker process on the worker's own plugin thread.
    @Test(arguments: ["inprocess", "process"])
    func pluginCallsGetAnEightMiBStackWhateverTheProcessDefault(isolation: String) async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-cli-stack")
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: try await Fixtures.compile())
        let result = try await Fixtures.run(
            "/bin/sh",
            [
                "-c", "ulimit -s 4096 && exec \"$0\" call --plugins \"$1\" --isolation \"$2\" probe.stack",
                Self.binary, plugins, isolation,
            ],
            environment: ["TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory("toolhost-state")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try JSONValue.parse(result.stdout)["stackBytes"]?.intValue == 8 << 20)
    }

    /// `toolhost call --cache-l2 true` reuses a result stored by an earlier run (`batch` here), and
    /// `toolhost cache stats|clear` read and clear that file. The probe's `count` says how often it ran in its
    /// process, so a result from the file (2) differs from one computed afresh (1).
    @Test func callReusesResultsAcrossRunsThroughTheL2File() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let policy: JSONObject = ["deterministic": true, "cache": ["ttlSeconds": 600]]
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(toolPolicy: ["count": policy]),
            libraryFrom: try await Fixtures.compile())
        let path = Fixtures.temporaryDirectory("toolhost-l2") + "/cache.sqlite"
        // A generous lookup budget: a lookup past it is a miss, and a busy machine must not make this test flaky.
        let l2 = [
            "--plugins", plugins, "--cache-l2", "true", "--cache-l2-path", path, "--cache-l2-budget-us", "5000000",
        ]
        let batch = try await toolhost(
            ["batch", "--concurrency", "1"] + l2 + ["-"],
            input: #"{"tool":"probe.count","arguments":{"n":1}}"# + "\n"
                + #"{"tool":"probe.count","arguments":{"n":2}}"#)
        #expect(batch.status == 0, "\(batch.stderr)")

        let reused = try await toolhost(["call"] + l2 + ["probe.count", #"{"n":2}"#])
        #expect(reused.status == 0, "\(reused.stderr)")
        #expect(try JSONValue.parse(reused.stdout) == ["executions": 2], "the second line's result, from the file")
        let off = try await toolhost([
            "call", "--plugins", plugins, "--cache-l2-path", path, "probe.count", #"{"n":2}"#,
        ])
        #expect(try JSONValue.parse(off.stdout) == ["executions": 1], "the CLI leaves the file alone by default")

        let stats = try await toolhost(["cache", "stats", "--cache-l2-path", path])
        #expect(stats.status == 0, "\(stats.stderr)")
        let tier = try JSONValue.parse(stats.stdout)["tiers"]?[0]
        #expect(tier?["tier"] == "l2" && tier?["state"] == "ready" && tier?["entries"] == 2)
        let cleared = try await toolhost(["cache", "clear", "--plugin", "probe", "--cache-l2-path", path])
        #expect(cleared.status == 0, "\(cleared.stderr)")
        #expect(try JSONValue.parse(cleared.stdout) == ["removed": 2, "l1": 0, "l2": 2])
        let fresh = try await toolhost(["call"] + l2 + ["probe.count", #"{"n":2}"#])
        #expect(try JSONValue.parse(fresh.stdout) == ["executions": 1], "cleared: computed afresh")

        let missing = try await toolhost(["cache", "stats", "--cache-l2-path", path + ".none"])
        #expect(
            try JSONValue.parse(missing.stdout)["tiers"]?[0]?["problem"] == .string("there is no file at \(path).none"))
    }
}
