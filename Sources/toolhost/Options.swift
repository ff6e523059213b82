import ArgumentParser
import Foundation
import Logging
import ToolHost
import ToolHostServer

/// The settings every command reads (``Settings``): the config file and one flag per setting of the host. Each
/// flag is passed on as the text typed, so a flag is checked by the same rule as the file and the environment.
struct SettingsOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A JSON config file (default: $TOOLHOST_CONFIG).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: "The plugins directory (default: $TOOLHOST_PLUGINS, else ./plugins).")
    var plugins: String?

    @Option(
        name: .customLong("state-dir"),
        help: "Where private copies of plugin libraries are kept, under libs/ (default: a temporary directory).")
    var stateDirectory: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Run every plugin inprocess or in worker processes (process), whatever the manifests say.",
            valueName: "mode"))
    var isolation: String?

    @Option(
        name: .customLong("allow-system-library"),
        help: ArgumentHelp(
            "Allow manifest-only plugins to open this system library (repeatable). libm.so.6 and libz.so.1 are "
                + "always allowed.",
            valueName: "soname"))
    var allowedSystemLibraries: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "false: start workers without no_new_privs and the seccomp filter (default true).", valueName: "bool"))
    var workerSandbox: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "false: cut every worker off the network, whatever the manifests say (default true).", valueName: "bool"))
    var workerNetwork: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "true: refuse plugins whose folder, manifest or library any user may write, or whose library links out "
                + "of its folder (default false: warn).",
            valueName: "bool"))
    var strictFilePermissions: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Plugin signatures (toolhost sign): off (default), warn (log a plugin not signed by a trusted key, load "
                + "it), require (refuse it).",
            valueName: "mode"))
    var signatures: String?

    @Option(
        name: .customLong("trusted-keys"),
        help: ArgumentHelp(
            "The trust store: a directory of public keys (.pub, from toolhost keygen) whose signatures are trusted.",
            valueName: "dir"))
    var trustedKeysDirectory: String?

    @Option(name: .long, help: "The timeout of a call whose tool and caller give none, in ms (default 30000).")
    var defaultTimeoutMs: String?

    @Option(name: .long, help: "Calls running at once, all plugins together (default 64).")
    var maxConcurrentCalls: String?

    @Option(name: .long, help: "Calls waiting for a slot before calls are refused as overloaded (default 4096).")
    var maxQueuedCalls: String?

    @Option(name: .long, help: "Calls of one plugin at once where its manifest says nothing (default 64).")
    var defaultPluginConcurrency: String?

    @Option(name: .long, help: "Calls of one tool at once where its manifest says nothing (default 64).")
    var defaultToolConcurrency: String?

    @Option(
        name: .customLong("awake-wait-us"),
        help: "How long a lone call waits awake for a fast answer before it suspends, 0...1000 µs (default 20).")
    var awakeWaitMicroseconds: String?

    @Option(
        name: .long,
        help: "The most agents counted by name in statistics and metric labels; the rest count as 'other' (default 64)."
    )
    var agentsMaxTracked: String?

    @Option(
        name: .customLong("agent-max-concurrent-calls"),
        help: "Calls of one agent at once; over it they wait while other agents' calls run (default 0: no limit).")
    var agentMaxConcurrentCalls: String?

    @Option(
        name: .customLong("agent-quota"),
        help: ArgumentHelp(
            "One agent's own limit of calls at once, over the default (repeatable).", valueName: "name=n"))
    var agentQuotas: [String] = []

    @Option(name: .long, help: "The most bytes of results the cache holds (default 67108864).")
    var cacheMaxBytes: String?

    @Option(
        name: .customLong("cache-l2"),
        help: ArgumentHelp(
            "true: keep results of deterministic tools in a SQLite file too, so they outlive the process (default: "
                + "true for serve and mcp, false for the other commands).",
            valueName: "bool"))
    var cacheL2: String?

    @Option(
        name: .customLong("cache-l2-path"),
        help: ArgumentHelp("The L2 cache file (default: cache.sqlite in the state directory).", valueName: "file"))
    var cacheL2Path: String?

    @Option(
        name: .customLong("cache-l2-max-bytes"),
        help: "The most bytes of results the L2 file holds (default 268435456).")
    var cacheL2MaxBytes: String?

    @Option(
        name: .customLong("cache-l2-budget-us"),
        help: "How long a call waits for an L2 lookup before it counts as a miss, in µs (default 5000).")
    var cacheL2BudgetMicroseconds: String?

    /// The flags given, by name, with the text typed.
    var flags: [(flag: String, value: String)] {
        let single: [(String, String?)] = [
            ("--plugins", plugins), ("--state-dir", stateDirectory), ("--log-level", logLevel),
            ("--isolation", isolation), ("--strict-file-permissions", strictFilePermissions),
            ("--worker-sandbox", workerSandbox), ("--worker-network", workerNetwork),
            ("--signatures", signatures), ("--trusted-keys", trustedKeysDirectory),
            ("--default-timeout-ms", defaultTimeoutMs),
            ("--max-concurrent-calls", maxConcurrentCalls), ("--max-queued-calls", maxQueuedCalls),
            ("--default-plugin-concurrency", defaultPluginConcurrency),
            ("--default-tool-concurrency", defaultToolConcurrency), ("--awake-wait-us", awakeWaitMicroseconds),
            ("--agents-max-tracked", agentsMaxTracked), ("--agent-max-concurrent-calls", agentMaxConcurrentCalls),
            ("--cache-max-bytes", cacheMaxBytes), ("--cache-l2", cacheL2), ("--cache-l2-path", cacheL2Path),
            ("--cache-l2-max-bytes", cacheL2MaxBytes), ("--cache-l2-budget-us", cacheL2BudgetMicroseconds),
        ]
        return single.compactMap { flag, value in value.map { (flag, $0) } }
            + allowedSystemLibraries.map { ("--allow-system-library", $0) } + agentQuotas.map { ("--agent-quota", $0) }
    }

    /// Reads the settings: the defaults, the config file, the environment, then the flags. A setting that cannot be
    /// used is printed naming its source and key, and the command exits 64.
    /// - Parameters:
    ///   - command: the subcommand, for the message.
    ///   - logLevel: the default level (`warning` where stderr belongs to a person or an agent).
    ///   - more: flags of the command's own (the HTTP settings of `serve`).
    func read(_ command: String, logLevel: Logger.Level = .warning, more: [(flag: String, value: String)] = [])
        throws -> Settings
    {
        var settings = Settings(logLevel: logLevel)
        do {
            try settings.apply(
                configFile: config, environment: ProcessInfo.processInfo.environment, flags: flags + more)
        } catch {
            printError("toolhost: \(command): \(error)")
            throw ExitCode(64)
        }
        return settings
    }

    /// Reads the settings, sets up logging to stderr and makes the host (the CLI commands).
    func makeHost(_ command: String) throws -> (ToolHost, Settings) {
        let settings = try read(command)
        bootstrapLogging(settings.logLevel)
        return (ToolHost(configuration: settings.host, logger: Logger(label: "toolhost")), settings)
    }
}

/// What the daemons (`mcp`, `serve`) share: hot add and the grace period of a shutdown.
struct DaemonOptions: ParsableArguments {
    @Flag(
        name: .customLong("no-watch"),
        help: ArgumentHelp(
            "Do not watch the plugins directory (by default plugins added, replaced or removed while the daemon "
                + "runs are picked up; manifest.json is the commit point)."))
    var noWatch = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "For plugin authors: also reload a plugin when its library file is written (a rebuild), not only when "
                + "its manifest.json is."))
    var dev = false

    /// What the daemon watches the plugins directory for.
    var watch: ToolHostDaemon.Watch { noWatch ? .off : dev ? .libraries : .manifests }

    func validate() throws {
        if noWatch && dev { throw ValidationError("--dev reloads through the watcher: drop --no-watch") }
    }

    @Option(name: .long, help: "On SIGTERM/SIGINT, how long calls in flight may take to finish (default 10).")
    var graceSeconds: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The most bytes of whole results kept for retrieval after they were answered shaped to a budget "
                + "(default 67108864)."))
    var resultStoreMaxBytes: String?

    @Option(name: .long, help: "How long a whole result is kept for retrieval, in seconds (default 600).")
    var resultStoreSeconds: String?

    @Option(
        name: .long,
        help: "How often resident memory (the daemon's and its workers') is sampled for /v1/insights (default 5).")
    var memorySampleSeconds: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Serve GET /metrics alone at HOST:PORT (beyond loopback it needs tokenFile, whose token it requires).",
            valueName: "host:port"))
    var metricsListen: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "What MCP tool results carry: both (text and, for an object, structuredContent; the default), text, "
                + "or structured (no text copy of an object result)."))
    var mcpResultContent: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Send each call's spans to this OpenTelemetry collector over OTLP/HTTP (http://HOST:4318; spans go to "
                + "its /v1/traces). Unset: no tracing.",
            valueName: "url"))
    var otelEndpoint: String?

    @Option(name: .long, help: "The share of calls traced, 0...1 (default 1; parent-based).")
    var otelSampleRatio: String?

    @Option(name: .long, help: "How spans are encoded: http/protobuf (the default) or http/json.")
    var otelProtocol: String?

    var flags: [(flag: String, value: String)] {
        [
            ("--otel-endpoint", otelEndpoint), ("--otel-sample-ratio", otelSampleRatio),
            ("--otel-protocol", otelProtocol),
            ("--grace-seconds", graceSeconds), ("--result-store-max-bytes", resultStoreMaxBytes),
            ("--result-store-seconds", resultStoreSeconds), ("--mcp-result-content", mcpResultContent),
            ("--memory-sample-seconds", memorySampleSeconds), ("--metrics-listen", metricsListen),
        ].compactMap { flag, value in value.map { (flag, $0) } }
    }
}

/// Sets up logging to stderr (executables bootstrap; libraries only accept a Logger).
func bootstrapLogging(_ level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
