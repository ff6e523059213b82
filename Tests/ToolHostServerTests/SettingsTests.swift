import Testing
import ToolHost
import ToolHostServer

/// Reading the settings every command shares: each source alone, their precedence, and refusals that name the key.
@Suite struct SettingsTests {
    static let file = Array(
        """
        {
          "listen": "127.0.0.1:9000", "pluginsDirectory": "/srv/plugins", "graceSeconds": 3,
          "defaultTimeoutMs": 5000, "isolation": "process", "logLevel": "debug",
          "limits": {"maxConcurrentCalls": 8, "maxQueuedCalls": 16, "awakeWaitMicroseconds": 0},
          "cache": {"maxBytes": 1024},
          "pluginOverrides": {"textkit": {"timeoutMs": 250, "maxConcurrency": 2, "isolation": "inprocess",
                                          "tools": {"regex": {"timeoutMs": 100, "maxConcurrency": 1, "cacheTTLSeconds": 0}}}}
        }
        """.utf8)

    @Test func theFileSetsWhatItNames() throws {
        var settings = Settings()
        try settings.apply(fileContents: Self.file, source: "test")
        #expect(settings.http.listen == "127.0.0.1:9000")
        #expect(settings.host.pluginsDirectory == "/srv/plugins")
        #expect(settings.http.gracePeriod == .seconds(3))
        #expect(settings.host.limits.maxConcurrentCalls == 8)
        #expect(settings.host.limits.maxQueuedCalls == 16)
        #expect(settings.host.limits.defaultPluginConcurrency == 64, "not in the file: the default")
        #expect(settings.host.cache.maxBytes == 1024)
        #expect(settings.logLevel == .debug)
        #expect(
            settings.host.pluginPolicies["textkit"]
                == .init(
                    timeoutMs: 250, maxConcurrency: 2,
                    tools: ["regex": .init(timeoutMs: 100, maxConcurrency: 1, cacheTTLSeconds: 0)]))
        let host = settings.host
        #expect(host.limits.awakeWait == .zero, "0: a lone call always suspends")
        #expect(Settings().host.limits.awakeWait == .microseconds(20))
        #expect(host.defaultTimeout == .seconds(5))
        #expect(host.isolation.mode == .process)
        #expect(host.isolation.overrides["textkit"] == .inprocess)
        #expect(host.pluginPolicies["textkit"]?.timeoutMs == 250)
    }

    /// The agents' settings: a default quota and per-agent quotas, from each source; bad ones name the key.
    @Test func agentQuotasComeFromEverySource() throws {
        #expect(Settings().host.agents.maxConcurrentCalls == 0, "no per-agent limit by default")
        var settings = Settings()
        try settings.apply(
            fileContents: Array(
                #"{"agents": {"maxTracked": 8, "maxConcurrentCalls": 4, "quotas": {"planner": 16}}}"#.utf8),
            source: "test")
        #expect(settings.host.agents.maxTracked == 8)
        #expect(settings.host.agents.maxConcurrentCalls == 4)
        #expect(settings.host.agents.quotas == ["planner": 16])
        try settings.apply(environment: ["TOOLHOST_AGENT_QUOTAS": "fleet=2, scout=1"])
        try settings.apply(flags: [("--agent-quota", "planner=32"), ("--agent-max-concurrent-calls", "3")])
        #expect(settings.host.agents.quotas == ["planner": 32, "fleet": 2, "scout": 1])
        #expect(settings.host.agents.maxConcurrentCalls == 3)
        for (flag, value) in [("--agent-quota", "planner"), ("--agent-quota", "planner=0"), ("--agent-quota", "a b=2")]
        {
            #expect(throws: SettingsError.self) { try settings.apply(flags: [(flag, value)]) }
        }
        #expect(throws: SettingsError.self) {
            try settings.apply(fileContents: Array(#"{"agents": {"quotas": {"planner": "lots"}}}"#.utf8), source: "t")
        }
    }

    /// The HTTP connection settings: their defaults, each source over the one before, and their ranges.
    @Test func theConnectionSettingsComeFromEverySource() throws {
        #expect(Settings().http.maxConnections == 512)
        #expect(Settings().http.idleTimeout == .seconds(30))
        var settings = Settings()
        try settings.apply(
            fileContents: Array(#"{"maxConnections": 64, "idleTimeoutSeconds": 2.5}"#.utf8), source: "test")
        #expect(settings.http.maxConnections == 64)
        #expect(settings.http.idleTimeout == .milliseconds(2500))
        try settings.apply(environment: ["TOOLHOST_MAX_CONNECTIONS": "128", "TOOLHOST_IDLE_TIMEOUT_SECONDS": "5"])
        #expect(settings.http.maxConnections == 128)
        #expect(settings.http.idleTimeout == .seconds(5))
        try settings.apply(flags: [("--max-connections", "4"), ("--idle-timeout-seconds", "1")])
        #expect(settings.http.maxConnections == 4)
        #expect(settings.http.idleTimeout == .seconds(1))
        for (flag, value) in [
            ("--max-connections", "0"), ("--max-connections", "lots"), ("--idle-timeout-seconds", "0.5"),
            ("--idle-timeout-seconds", "3601"),
        ] {
            #expect(throws: SettingsError.self, "\(flag) \(value)") {
                var settings = Settings()
                try settings.apply(flags: [(flag, value)])
            }
        }
    }

    /// `mcpMaxSessionsPerClient`: its default, each source, its range, and the server's configuration.
    @Test func theMCPSessionShareComesFromEverySource() throws {
        #expect(Settings().http.mcpMaxSessionsPerClient == 64)
        var settings = Settings()
        try settings.apply(fileContents: Array(#"{"mcpMaxSessionsPerClient": 8}"#.utf8), source: "test")
        #expect(settings.http.mcpMaxSessionsPerClient == 8)
        try settings.apply(environment: ["TOOLHOST_MCP_MAX_SESSIONS_PER_CLIENT": "16"])
        #expect(settings.http.mcpMaxSessionsPerClient == 16)
        try settings.apply(flags: [("--mcp-max-sessions-per-client", "1024")])
        #expect(settings.http.mcpMaxSessionsPerClient == 1024)
        let server = try ToolHostDaemon.httpConfiguration(settings.http, insecureNoAuth: false)
        #expect(server.mcp.maxSessionsPerClient == 1024)
        for value in ["0", "1025", "-1", "many"] {
            #expect(throws: SettingsError.self, "--mcp-max-sessions-per-client \(value)") {
                var settings = Settings()
                try settings.apply(flags: [("--mcp-max-sessions-per-client", value)])
            }
        }
    }

    /// `compressMinBytes` from every source reaches the server's configuration; a negative one is refused.
    @Test func theCompressionThresholdComesFromEverySource() throws {
        #expect(Settings().http.compressMinBytes == 1024)
        var settings = Settings()
        try settings.apply(fileContents: Array(#"{"compressMinBytes": 4096}"#.utf8), source: "test")
        #expect(settings.http.compressMinBytes == 4096)
        try settings.apply(environment: ["TOOLHOST_COMPRESS_MIN_BYTES": "0"])
        #expect(settings.http.compressMinBytes == 0)
        try settings.apply(flags: [("--compress-min-bytes", "512")])
        #expect(try ToolHostDaemon.httpConfiguration(settings.http, insecureNoAuth: false).compressMinBytes == 512)
        #expect(throws: SettingsError.self) { try settings.apply(flags: [("--compress-min-bytes", "-1")]) }
    }

    /// Tracing is off unless an endpoint is set; its section, variables and flags, each checked.
    @Test func tracingIsOffUntilAnEndpointIsSetFromAnySource() throws {
        #expect(Settings().traces.endpoint == nil)
        #expect(Settings().traces.tracesURL == nil)
        var settings = Settings()
        try settings.apply(
            fileContents: Array(
                #"{"tracing": {"endpoint": "http://collector:4318", "sampleRatio": 0.01, "protocol": "http/json"}}"#
                    .utf8), source: "test")
        #expect(settings.traces.tracesURL == "http://collector:4318/v1/traces")
        #expect(settings.traces.sampleRatio == 0.01)
        #expect(settings.traces.wireProtocol == .httpJSON)
        try settings.apply(environment: ["TOOLHOST_OTEL_ENDPOINT": "https://otel.example/ingest/traces"])
        #expect(settings.traces.tracesURL == "https://otel.example/ingest/traces")
        try settings.apply(flags: [("--otel-sample-ratio", "1"), ("--otel-protocol", "http/protobuf")])
        #expect(settings.traces.sampleRatio == 1)
        #expect(settings.traces.wireProtocol == .httpProtobuf)
        #expect(throws: SettingsError.self) { try settings.apply(flags: [("--otel-endpoint", "collector:4318")]) }
        #expect(throws: SettingsError.self) { try settings.apply(flags: [("--otel-sample-ratio", "1.5")]) }
        #expect(throws: SettingsError.self) { try settings.apply(flags: [("--otel-protocol", "grpc")]) }
        #expect(throws: SettingsError.self) {
            try settings.apply(fileContents: Array(#"{"tracing": {"endpont": "http://x"}}"#.utf8), source: "t")
        }
    }

    /// `mcpResultContent` is both, text or structured, from every source.
    @Test func theMCPResultContentIsOneOfThree() throws {
        #expect(Settings().mcpResultContent == .both)
        var settings = Settings()
        try settings.apply(fileContents: Array(#"{"mcpResultContent": "text"}"#.utf8), source: "test")
        #expect(settings.mcpResultContent == .text)
        try settings.apply(environment: ["TOOLHOST_MCP_RESULT_CONTENT": "structured"])
        #expect(settings.mcpResultContent == .structured)
        #expect(throws: SettingsError.self) { try settings.apply(flags: [("--mcp-result-content", "twice")]) }
    }

    /// The result store's bounds from every source.
    @Test func theResultStoreBoundsComeFromEverySource() throws {
        #expect(Settings().results == ResultStore.Configuration())
        var settings = Settings()
        try settings.apply(
            fileContents: Array(#"{"resultStoreMaxBytes": 1000, "resultStoreSeconds": 30}"#.utf8), source: "test")
        #expect(settings.results.maxBytes == 1000)
        #expect(settings.results.lifetime == .seconds(30))
        try settings.apply(environment: ["TOOLHOST_RESULT_STORE_SECONDS": "90"])
        #expect(settings.results.lifetime == .seconds(90))
        try settings.apply(flags: [("--result-store-max-bytes", "5")])
        #expect(settings.results.maxBytes == 5)
        #expect(throws: SettingsError.self) { try settings.apply(flags: [("--result-store-seconds", "0")]) }
    }

    /// How often the daemons sample memory for the insights: its default, each source over the one before, its range.
    @Test func theMemorySampleIntervalComesFromEverySource() throws {
        #expect(Settings().observability.memorySampleInterval == .seconds(5))
        var settings = Settings()
        try settings.apply(fileContents: Array(#"{"memorySampleSeconds": 2.5}"#.utf8), source: "test")
        #expect(settings.observability.memorySampleInterval == .milliseconds(2500))
        try settings.apply(environment: ["TOOLHOST_MEMORY_SAMPLE_SECONDS": "10"])
        #expect(settings.observability.memorySampleInterval == .seconds(10))
        try settings.apply(flags: [("--memory-sample-seconds", "0.2")])
        #expect(settings.observability.memorySampleInterval == .milliseconds(200))
        for value in ["0", "0.05", "3601", "often"] {
            #expect {
                var settings = Settings()
                try settings.apply(flags: [("--memory-sample-seconds", value)])
            } throws: { error in
                "\(error)".contains("must be a number of seconds in 0.1...3600")
            }
        }
    }

    @Test func flagsBeatTheEnvironmentWhichBeatsTheFile() throws {
        var settings = Settings()
        try settings.apply(fileContents: Self.file, source: "test")
        try settings.apply(environment: [
            "TOOLHOST_LISTEN": "127.0.0.1:9100", "TOOLHOST_MAX_QUEUED_CALLS": "32", "TOOLHOST_GRACE_SECONDS": "",
        ])
        try settings.apply(flags: [("--listen", "127.0.0.1:9200")])
        #expect(settings.http.listen == "127.0.0.1:9200", "flag over environment over file")
        #expect(settings.host.limits.maxQueuedCalls == 32, "environment over file")
        #expect(settings.host.limits.maxConcurrentCalls == 8, "file over default")
        #expect(settings.http.gracePeriod == .seconds(3), "an empty variable counts as unset")
        #expect(settings.sources == ["environment", "flags"])
    }

    @Test(arguments: [
        (#"{"nope": 1}"#, "'nope' is not a known key"),
        (#"{"cache": {"maxbytes": 1}}"#, "'cache.maxbytes' is not a known key"),
        (#"{"limits": 4}"#, "'limits' must be an object"),
        (#"{"limits": {"maxQueuedCalls": -1}}"#, "'limits.maxQueuedCalls' must be an integer ≥ 0"),
        (
            #"{"limits": {"awakeWaitMicroseconds": 5000}}"#,
            "'limits.awakeWaitMicroseconds' must be an integer number of microseconds in 0...1000"
        ),
        (#"{"graceSeconds": "10s"}"#, "'graceSeconds' must be a number of seconds"),
        (#"{"isolation": "vm"}"#, "'isolation' must be inprocess or process"),
        (#"{"pluginOverrides": {"a": {"maxConcurrency": 0}}}"#, "'pluginOverrides.a.maxConcurrency' must be"),
        (#"{"pluginOverrides": {"a": {"tools": []}}}"#, "'pluginOverrides.a.tools' must be an object"),
        (
            #"{"pluginOverrides": {"a": {"tools": {"t": {"timeout": 1}}}}}"#,
            "'pluginOverrides.a.tools.t.timeout' is not a known key"
        ),
        (
            #"{"pluginOverrides": {"a": {"tools": {"t": {"maxConcurrency": 0}}}}}"#,
            "'pluginOverrides.a.tools.t.maxConcurrency' must be an integer in 1...4096"
        ),
        // Numbers that would overflow a deadline or a TTL are refused where they enter.
        (
            #"{"defaultTimeoutMs": 9223372036855}"#,
            "'defaultTimeoutMs' must be an integer number of milliseconds in 1...86400000"
        ),
        (
            #"{"pluginOverrides": {"a": {"timeoutMs": 9223372036855}}}"#,
            "'pluginOverrides.a.timeoutMs' must be an integer in 1...86400000"
        ),
        (
            #"{"pluginOverrides": {"a": {"tools": {"t": {"timeoutMs": 0}}}}}"#,
            "'pluginOverrides.a.tools.t.timeoutMs' must be an integer in 1...86400000"
        ),
        (
            #"{"pluginOverrides": {"a": {"cacheTTLSeconds": 1e300}}}"#,
            "'pluginOverrides.a.cacheTTLSeconds' must be a number of seconds in 0...31536000"
        ),
        (#"{"graceSeconds": 1e300}"#, "'graceSeconds' must be a number of seconds in 0...3600"),
        ("[1]", "must hold a JSON object"),
    ])
    func aBadFileNamesTheKey(text: String, message: String) {
        var settings = Settings()
        #expect {
            try settings.apply(fileContents: Array(text.utf8), source: "config file x.json")
        } throws: { error in
            "\(error)".contains(message) && "\(error)".hasPrefix("config file x.json")
        }
    }

    @Test func aBadVariableOrFlagNamesIt() {
        var settings = Settings()
        #expect {
            try settings.apply(environment: ["TOOLHOST_DEFAULT_TIMEOUT_MS": "0"])
        } throws: { "\($0)".contains("TOOLHOST_DEFAULT_TIMEOUT_MS") }
        #expect {
            try settings.apply(flags: [("--listen", "8080")])
        } throws: { "\($0)".contains("--listen") }
        #expect {
            try settings.apply(flags: [("--awake-wait-us", "-1")])
        } throws: { "\($0)".contains("--awake-wait-us") && "\($0)".contains("0...1000") }
    }

    /// Every source adds to the system-library allowlist; the defaults stay.
    @Test func allowedSystemLibrariesComeFromEverySource() throws {
        var settings = Settings()
        try settings.apply(fileContents: Array(#"{"allowedSystemLibraries": ["libfile.so.1"]}"#.utf8), source: "f")
        try settings.apply(environment: ["TOOLHOST_ALLOWED_SYSTEM_LIBRARIES": "libenv.so.1, libenv.so.2"])
        try settings.apply(flags: [("--allow-system-library", "libflag.so.1")])
        let expected = ToolHost.Configuration.defaultAllowedSystemLibraries.union([
            "libfile.so.1", "libenv.so.1", "libenv.so.2", "libflag.so.1",
        ])
        #expect(settings.host.allowedSystemLibraries == expected)
        #expect {
            try settings.apply(flags: [("--allow-system-library", "/lib/libx.so")])
        } throws: { "\($0)".contains("--allow-system-library") }
    }

    @Test func aBooleanIsTrueOrFalseInEverySource() throws {
        var settings = Settings()
        try settings.apply(fileContents: Array(#"{"strictFilePermissions": true}"#.utf8), source: "f")
        #expect(settings.host.strictFilePermissions)
        try settings.apply(environment: ["TOOLHOST_STRICT_FILE_PERMISSIONS": "false"])
        #expect(!settings.host.strictFilePermissions)
        #expect {
            try settings.apply(fileContents: Array(#"{"strictFilePermissions": "yes"}"#.utf8), source: "f")
        } throws: { "\($0)".contains("'strictFilePermissions' must be true or false") }
        #expect {
            try settings.apply(flags: [("--strict-file-permissions", "1")])
        } throws: { "\($0)".contains("--strict-file-permissions") }
    }

    /// The operator's switches of the worker sandbox: on by default, off from any source.
    @Test func theWorkerSandboxSwitchesComeFromEverySource() throws {
        var settings = Settings()
        #expect(settings.host.isolation.sandbox && settings.host.isolation.network)
        try settings.apply(fileContents: Array(#"{"workerSandbox": false}"#.utf8), source: "f")
        try settings.apply(environment: ["TOOLHOST_WORKER_NETWORK": "false"])
        #expect(!settings.host.isolation.sandbox && !settings.host.isolation.network)
        try settings.apply(flags: [("--worker-sandbox", "true")])
        #expect(settings.host.isolation.sandbox)
    }

    /// The L2 cache file: each setting from every source, unset `cache.l2Enabled` left to the command, the file in
    /// the state directory by default, and values out of range refused naming the key.
    @Test func theL2CacheSettingsComeFromEverySource() throws {
        var settings = Settings()
        #expect(settings.host.cache.l2.enabled == nil, "unset: the command decides")
        #expect(settings.host.cache.l2.maxBytes == 256 << 20 && settings.host.cache.l2.budget == .milliseconds(5))
        try settings.apply(environment: ["TOOLHOST_STATE_DIR": "/var/lib/toolhost"])
        #expect(
            settings.host.cache.l2.resolvedPath(libraryStore: settings.host.libraryStore)
                == "/var/lib/toolhost/cache.sqlite")
        try settings.apply(
            fileContents: Array(
                #"{"cache": {"l2Enabled": false, "l2Path": "/f.sqlite", "l2MaxBytes": 4096, "l2BudgetMicroseconds": 250}}"#
                    .utf8), source: "f")
        #expect(settings.host.cache.l2.enabled == false)
        #expect(settings.host.cache.l2.path == "/f.sqlite")
        #expect(settings.host.cache.l2.maxBytes == 4096)
        #expect(settings.host.cache.l2.budget == .microseconds(250))
        try settings.apply(environment: [
            "TOOLHOST_CACHE_L2": "true", "TOOLHOST_CACHE_L2_PATH": "/e.sqlite", "TOOLHOST_CACHE_L2_MAX_BYTES": "8192",
            "TOOLHOST_CACHE_L2_BUDGET_US": "3000",
        ])
        #expect(settings.host.cache.l2.enabled == true)
        #expect(settings.host.cache.l2.path == "/e.sqlite")
        #expect(settings.host.cache.l2.maxBytes == 8192)
        #expect(settings.host.cache.l2.budget == .milliseconds(3))
        try settings.apply(flags: [
            ("--cache-l2", "false"), ("--cache-l2-path", "/c.sqlite"), ("--cache-l2-max-bytes", "1"),
            ("--cache-l2-budget-us", "1"),
        ])
        #expect(settings.host.cache.l2.enabled == false)
        #expect(settings.host.cache.l2.path == "/c.sqlite")
        #expect(settings.host.cache.l2.maxBytes == 1)
        #expect(settings.host.cache.l2.budget == .microseconds(1))
        for (flag, value) in [("--cache-l2", "yes"), ("--cache-l2-budget-us", "0"), ("--cache-l2-max-bytes", "-1")] {
            #expect(throws: SettingsError.self, "\(flag) \(value)") {
                var settings = Settings()
                try settings.apply(flags: [(flag, value)])
            }
        }
    }

    /// `stateDirectory` puts the private library copies under its `libs` folder.
    @Test func theStateDirectoryHoldsTheLibraryCopies() throws {
        var settings = Settings()
        try settings.apply(environment: ["TOOLHOST_STATE_DIR": "/var/lib/toolhost"])
        #expect(settings.host.libraryStore == "/var/lib/toolhost/libs")
    }

    /// `signatures` and `trustedKeysDirectory` from every source; `require` without a trust store is refused.
    @Test func signaturesAreOffWarnOrRequireAndRequireNeedsATrustStore() throws {
        var settings = Settings()
        #expect(settings.host.signatures.mode == .off, "the default")
        try settings.apply(
            fileContents: Array(#"{"signatures": "warn", "trustedKeysDirectory": "/etc/toolhost/keys"}"#.utf8),
            source: "f")
        #expect(settings.host.signatures == .init(mode: .warn, trustedKeysDirectory: "/etc/toolhost/keys"))
        try settings.apply(environment: ["TOOLHOST_SIGNATURES": "require", "TOOLHOST_TRUSTED_KEYS": "/keys"])
        #expect(settings.host.signatures == .init(mode: .require, trustedKeysDirectory: "/keys"))
        try settings.apply(flags: [("--signatures", "off"), ("--trusted-keys", "/other")])
        #expect(settings.host.signatures == .init(mode: .off, trustedKeysDirectory: "/other"))
        #expect {
            try settings.apply(flags: [("--signatures", "strict")])
        } throws: { "\($0)".contains("--signatures") && "\($0)".contains("off, warn or require") }

        var withoutStore = Settings()
        #expect {
            try withoutStore.apply(configFile: nil, environment: [:], flags: [("--signatures", "require")])
        } throws: { "\($0)".contains("'signatures' is require, which needs a trust store") }
        var withStore = Settings()
        try withStore.apply(
            configFile: nil, environment: ["TOOLHOST_TRUSTED_KEYS": "/keys"], flags: [("--signatures", "require")])
        #expect(withStore.host.signatures.mode == .require)
    }
}
