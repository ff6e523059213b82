import ToolHost

extension Settings {
    /// How one setting is written, checked and stored.
    enum Kind: Sendable {
        case text(WritableKeyPath<Settings, String> & Sendable)
        case optionalText(WritableKeyPath<Settings, String?> & Sendable)
        /// `HOST:PORT`.
        case listen
        /// `HOST:PORT`, unset by default.
        case optionalListen(WritableKeyPath<Settings, String?> & Sendable)
        /// A directory whose `libs` folder holds the private copies of libraries.
        case stateDirectory
        case integer(WritableKeyPath<Settings, Int> & Sendable, ClosedRange<Int>)
        /// `true` or `false`.
        case boolean(WritableKeyPath<Settings, Bool> & Sendable)
        /// `true` or `false`; unset leaves the command's own default.
        case optionalBoolean(WritableKeyPath<Settings, Bool?> & Sendable)
        /// A whole number of `unit`s, stored as a `Duration`.
        case duration(WritableKeyPath<Settings, Duration> & Sendable, Unit, ClosedRange<Int64>)
        /// A number of seconds, fractions allowed, stored as a `Duration`.
        case seconds(WritableKeyPath<Settings, Duration> & Sendable, ClosedRange<Double>)
        case isolation
        /// `off`, `warn` or `require`.
        case signatures
        /// `both`, `text` or `structured`.
        case mcpResultContent
        case logLevel
        /// Sonames added to the allowlist: an array in the file, comma-separated in the variable, one per flag.
        case libraries
        /// An OTLP/HTTP collector's `http(s)://` URL, unset by default.
        case otlpEndpoint
        /// A number in 0...1.
        case ratio(WritableKeyPath<Settings, Double> & Sendable)
        /// `http/protobuf` or `http/json`.
        case otlpProtocol
        /// Per-agent quotas: an object of agent names in the file, `NAME=N` comma-separated in the variable, one
        /// per flag.
        case agentQuotas

        enum Unit: String, Sendable {
            case milliseconds, microseconds

            func duration(_ value: Int64) -> Duration {
                switch self {
                case .milliseconds: .milliseconds(value)
                case .microseconds: .microseconds(value)
                }
            }
        }
    }

    /// One setting: its key in the config file (dotted inside `limits`, `agents` and `cache`), its environment
    /// variable, its flag, and how it is written.
    struct Setting: Sendable {
        let key: String
        let environment: String
        let flag: String
        let kind: Kind

        /// Whether the variable holds several values, comma-separated (and the flag may be repeated).
        var isList: Bool {
            switch kind {
            case .libraries, .agentQuotas: true
            default: false
            }
        }
    }

    /// Every setting, in the order the README documents them.
    static let table: [Setting] = [
        Setting(
            key: "pluginsDirectory", environment: "TOOLHOST_PLUGINS", flag: "--plugins",
            kind: .text(\.host.pluginsDirectory)),
        Setting(key: "stateDirectory", environment: "TOOLHOST_STATE_DIR", flag: "--state-dir", kind: .stateDirectory),
        Setting(key: "logLevel", environment: "TOOLHOST_LOG_LEVEL", flag: "--log-level", kind: .logLevel),
        Setting(key: "isolation", environment: "TOOLHOST_ISOLATION", flag: "--isolation", kind: .isolation),
        Setting(
            key: "allowedSystemLibraries", environment: "TOOLHOST_ALLOWED_SYSTEM_LIBRARIES",
            flag: "--allow-system-library", kind: .libraries),
        Setting(
            key: "workerSandbox", environment: "TOOLHOST_WORKER_SANDBOX", flag: "--worker-sandbox",
            kind: .boolean(\.host.isolation.sandbox)),
        Setting(
            key: "workerNetwork", environment: "TOOLHOST_WORKER_NETWORK", flag: "--worker-network",
            kind: .boolean(\.host.isolation.network)),
        Setting(
            key: "strictFilePermissions", environment: "TOOLHOST_STRICT_FILE_PERMISSIONS",
            flag: "--strict-file-permissions", kind: .boolean(\.host.strictFilePermissions)),
        Setting(key: "signatures", environment: "TOOLHOST_SIGNATURES", flag: "--signatures", kind: .signatures),
        Setting(
            key: "trustedKeysDirectory", environment: "TOOLHOST_TRUSTED_KEYS", flag: "--trusted-keys",
            kind: .optionalText(\.host.signatures.trustedKeysDirectory)),
        Setting(
            key: "defaultTimeoutMs", environment: "TOOLHOST_DEFAULT_TIMEOUT_MS", flag: "--default-timeout-ms",
            kind: .duration(\.host.defaultTimeout, .milliseconds, ToolCall.timeoutMillisecondsRange)),
        Setting(
            key: "limits.maxConcurrentCalls", environment: "TOOLHOST_MAX_CONCURRENT_CALLS",
            flag: "--max-concurrent-calls", kind: .integer(\.host.limits.maxConcurrentCalls, 1...Int.max)),
        Setting(
            key: "limits.maxQueuedCalls", environment: "TOOLHOST_MAX_QUEUED_CALLS", flag: "--max-queued-calls",
            kind: .integer(\.host.limits.maxQueuedCalls, 0...Int.max)),
        Setting(
            key: "limits.defaultPluginConcurrency", environment: "TOOLHOST_DEFAULT_PLUGIN_CONCURRENCY",
            flag: "--default-plugin-concurrency", kind: .integer(\.host.limits.defaultPluginConcurrency, 1...Int.max)),
        Setting(
            key: "limits.defaultToolConcurrency", environment: "TOOLHOST_DEFAULT_TOOL_CONCURRENCY",
            flag: "--default-tool-concurrency", kind: .integer(\.host.limits.defaultToolConcurrency, 1...Int.max)),
        Setting(
            key: "limits.awakeWaitMicroseconds", environment: "TOOLHOST_AWAKE_WAIT_US", flag: "--awake-wait-us",
            kind: .duration(\.host.limits.awakeWait, .microseconds, 0...1000)),
        Setting(
            key: "agents.maxTracked", environment: "TOOLHOST_AGENTS_MAX_TRACKED", flag: "--agents-max-tracked",
            kind: .integer(\.host.agents.maxTracked, 1...100_000)),
        Setting(
            key: "agents.maxConcurrentCalls", environment: "TOOLHOST_AGENT_MAX_CONCURRENT_CALLS",
            flag: "--agent-max-concurrent-calls", kind: .integer(\.host.agents.maxConcurrentCalls, 0...Int.max)),
        Setting(
            key: "agents.quotas", environment: "TOOLHOST_AGENT_QUOTAS", flag: "--agent-quota", kind: .agentQuotas),
        Setting(
            key: "cache.maxBytes", environment: "TOOLHOST_CACHE_MAX_BYTES", flag: "--cache-max-bytes",
            kind: .integer(\.host.cache.maxBytes, 0...Int.max)),
        Setting(
            key: "cache.l2Enabled", environment: "TOOLHOST_CACHE_L2", flag: "--cache-l2",
            kind: .optionalBoolean(\.host.cache.l2.enabled)),
        Setting(
            key: "cache.l2Path", environment: "TOOLHOST_CACHE_L2_PATH", flag: "--cache-l2-path",
            kind: .optionalText(\.host.cache.l2.path)),
        Setting(
            key: "cache.l2MaxBytes", environment: "TOOLHOST_CACHE_L2_MAX_BYTES", flag: "--cache-l2-max-bytes",
            kind: .integer(\.host.cache.l2.maxBytes, 0...Int.max)),
        Setting(
            key: "cache.l2BudgetMicroseconds", environment: "TOOLHOST_CACHE_L2_BUDGET_US", flag: "--cache-l2-budget-us",
            kind: .duration(\.host.cache.l2.budget, .microseconds, 1...10_000_000)),
        Setting(
            key: "resultStoreMaxBytes", environment: "TOOLHOST_RESULT_STORE_MAX_BYTES",
            flag: "--result-store-max-bytes",
            kind: .integer(\.results.maxBytes, 0...Int.max)),
        Setting(
            key: "resultStoreSeconds", environment: "TOOLHOST_RESULT_STORE_SECONDS", flag: "--result-store-seconds",
            kind: .seconds(\.results.lifetime, 1...86400)),
        Setting(
            key: "mcpResultContent", environment: "TOOLHOST_MCP_RESULT_CONTENT", flag: "--mcp-result-content",
            kind: .mcpResultContent),
        Setting(key: "listen", environment: "TOOLHOST_LISTEN", flag: "--listen", kind: .listen),
        Setting(
            key: "tokenFile", environment: "TOOLHOST_TOKEN_FILE", flag: "--token-file",
            kind: .optionalText(\.http.tokenFile)),
        Setting(
            key: "maxBodyBytes", environment: "TOOLHOST_MAX_BODY_BYTES", flag: "--max-body-bytes",
            kind: .integer(\.http.maxBodyBytes, 1...Int.max)),
        Setting(
            key: "compressMinBytes", environment: "TOOLHOST_COMPRESS_MIN_BYTES", flag: "--compress-min-bytes",
            kind: .integer(\.http.compressMinBytes, 0...Int.max)),
        Setting(
            key: "graceSeconds", environment: "TOOLHOST_GRACE_SECONDS", flag: "--grace-seconds",
            kind: .seconds(\.http.gracePeriod, 0...3600)),
        Setting(
            key: "maxConnections", environment: "TOOLHOST_MAX_CONNECTIONS", flag: "--max-connections",
            kind: .integer(\.http.maxConnections, 1...1_000_000)),
        Setting(
            key: "idleTimeoutSeconds", environment: "TOOLHOST_IDLE_TIMEOUT_SECONDS", flag: "--idle-timeout-seconds",
            kind: .seconds(\.http.idleTimeout, 1...3600)),
        Setting(
            key: "mcpMaxSessionsPerClient", environment: "TOOLHOST_MCP_MAX_SESSIONS_PER_CLIENT",
            flag: "--mcp-max-sessions-per-client",
            kind: .integer(\.http.mcpMaxSessionsPerClient, 1...1024)),
        Setting(
            key: "memorySampleSeconds", environment: "TOOLHOST_MEMORY_SAMPLE_SECONDS", flag: "--memory-sample-seconds",
            kind: .seconds(\.observability.memorySampleInterval, 0.1...3600)),
        Setting(
            key: "metricsListen", environment: "TOOLHOST_METRICS_LISTEN", flag: "--metrics-listen",
            kind: .optionalListen(\.observability.metricsListen)),
        Setting(
            key: "tracing.endpoint", environment: "TOOLHOST_OTEL_ENDPOINT", flag: "--otel-endpoint",
            kind: .otlpEndpoint),
        Setting(
            key: "tracing.sampleRatio", environment: "TOOLHOST_OTEL_SAMPLE_RATIO", flag: "--otel-sample-ratio",
            kind: .ratio(\.traces.sampleRatio)),
        Setting(
            key: "tracing.protocol", environment: "TOOLHOST_OTEL_PROTOCOL", flag: "--otel-protocol",
            kind: .otlpProtocol),
    ]

    /// The keys of `pluginOverrides.<plugin>`.
    static let pluginOverrideKeys = [
        "timeoutMs", "maxConcurrency", "toolMaxConcurrency", "cacheTTLSeconds", "isolation", "tools",
    ]

    /// The keys of `pluginOverrides.<plugin>.tools.<tool>`.
    static let toolOverrideKeys = ["timeoutMs", "maxConcurrency", "cacheTTLSeconds", "weight"]

    /// The weights an operator may give a capability provider, as a manifest's `weight`.
    static let weightRange: ClosedRange<Double> = 0.01...100

    /// The longest cache TTL an operator may set, in seconds: a year, as a manifest's `cache.ttlSeconds`.
    static let maximumTTLSeconds: Double = 31_536_000
    /// The most calls at once an operator's cap may name, as a manifest's `maxConcurrency`.
    static let concurrencyCapRange: ClosedRange<Int64> = 1...4096
}
