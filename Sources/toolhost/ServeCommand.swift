import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import ToolHost
import ToolHostServer
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the tools over HTTP: the REST API under /v1, /metrics, /healthz and /readyz.",
        discussion: """
            Settings come from flags, else TOOLHOST_* environment variables, else the JSON config file \
            (--config or $TOOLHOST_CONFIG), else the defaults; per-plugin caps (pluginOverrides) from the file only. \
            An unknown key or a wrong type is an error (exit 64).

            Listening on anything but loopback needs --token-file (a bearer token every request but /healthz \
            must carry, /metrics included) unless --insecure-no-auth is given. SIGTERM or SIGINT stops accepting \
            and lets calls in flight finish within --grace-seconds; exit 0 when they all did, 1 when calls had to \
            be cancelled. The startup line on stderr names the bound address (useful with port 0).
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var watch: WatchOptions

    @Option(name: .long, help: "A JSON config file (default: $TOOLHOST_CONFIG).")
    var config: String?

    @Option(name: .long, help: "HOST:PORT to listen on (port 0: an ephemeral port; default 127.0.0.1:8080).")
    var listen: String?

    @Option(name: .long, help: "A file holding the bearer token clients must send.")
    var tokenFile: String?

    @Flag(name: .long, help: "Allow a non-loopback address without a token.")
    var insecureNoAuth = false

    @Option(name: .long, help: "The largest request body accepted, in bytes (default 1048576).")
    var maxBodyBytes: Int?

    @Option(name: .long, help: "On SIGTERM/SIGINT, how long calls in flight may take to finish (default 10).")
    var graceSeconds: Double?

    @Option(name: .long, help: "The timeout of a call whose tool and caller give none (default 30000).")
    var defaultTimeoutMs: Int?

    @Option(name: .long, help: "Calls running at once, all plugins together (default 64).")
    var maxConcurrentCalls: Int?

    @Option(name: .long, help: "Calls waiting for a slot before calls are refused with 429 (default 4096).")
    var maxQueuedCalls: Int?

    @Option(name: .long, help: "Calls of one plugin at once where its manifest says nothing (default 64).")
    var defaultPluginConcurrency: Int?

    @Option(name: .long, help: "Calls of one tool at once where its manifest says nothing (default 64).")
    var defaultToolConcurrency: Int?

    @Option(
        name: .customLong("awake-wait-us"),
        help: "How long a lone call waits awake for a fast answer before it suspends, 0...1000 µs (default 20).")
    var awakeWaitMicroseconds: Int?

    @Option(name: .long, help: "The most bytes of results the cache holds (default 67108864).")
    var cacheMaxBytes: Int?

    /// The flags, by name, as text (checked like every other source); nil: not given.
    private var givenFlags: [(String, String?)] {
        [
            ("--listen", listen), ("--plugins", host.plugins), ("--token-file", tokenFile),
            ("--max-body-bytes", maxBodyBytes.map(String.init)), ("--grace-seconds", graceSeconds.map { "\($0)" }),
            ("--log-level", host.logLevel), ("--isolation", host.isolation),
            ("--default-timeout-ms", defaultTimeoutMs.map(String.init)),
            ("--max-concurrent-calls", maxConcurrentCalls.map(String.init)),
            ("--max-queued-calls", maxQueuedCalls.map(String.init)),
            ("--default-plugin-concurrency", defaultPluginConcurrency.map(String.init)),
            ("--default-tool-concurrency", defaultToolConcurrency.map(String.init)),
            ("--awake-wait-us", awakeWaitMicroseconds.map(String.init)),
            ("--cache-max-bytes", cacheMaxBytes.map(String.init)),
        ]
    }

    func run() async throws {
        let settings = try daemonSettings("serve", configFile: config, flags: givenFlags)
        guard let (address, port) = DaemonConfiguration.parseListen(settings.listen) else {
            printError("toolhost: serve: the listen address must be HOST:PORT, not '\(settings.listen)'")
            throw ExitCode(64)
        }
        var server = RESTServer.Configuration()
        server.host = address
        server.port = port
        server.maxBodyBytes = settings.maxBodyBytes
        if let tokenFile = settings.tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                printError("toolhost: serve: cannot read the token file '\(tokenFile)'")
                throw ExitCode(64)
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else {
                printError("toolhost: serve: the token file '\(tokenFile)' is empty")
                throw ExitCode(64)
            }
            server.token = token
        }
        if !server.listensOnLoopback && server.token == nil && !insecureNoAuth {
            printError(
                "toolhost: serve: listening on \(address) (not loopback) needs --token-file, "
                    + "or --insecure-no-auth to serve without authentication")
            throw ExitCode(64)
        }

        // The executable bootstraps logging and metrics, before anything makes a logger or a metric.
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(MetricsExporter.makeFactory(registry: registry))
        let logger = Logger(label: "toolhost.serve")

        let toolHost = ToolHost(
            configuration: settings.hostConfiguration(allowedSystemLibraries: host.systemLibraryAllowlist),
            logger: Logger(label: "toolhost"))
        defer { toolHost.shutdown() }
        let watcher = watch.start(toolHost)
        defer { watcher?.stop() }
        server.metrics = MetricsExporter(registry: registry, host: toolHost)

        let grace = Duration.milliseconds(Int64(settings.graceSeconds * 1000))
        let toolCount = toolHost.tools().count
        let auth = server.token == nil ? "no auth" : "bearer token"
        let configSource = settings.sources.isEmpty ? "defaults" : settings.sources.joined(separator: " + ")
        var startup = logger
        startup.logLevel = min(startup.logLevel, .notice)
        let application = RESTServer(host: toolHost, configuration: server, logger: logger).makeService {
            [startup, settings] boundPort in
            let line =
                "listening on http://\(address):\(boundPort) (\(toolCount) tools from \(settings.pluginsDirectory), "
                + "\(auth), config: \(configSource))"
            startup.notice(
                "\(line)",
                metadata: [
                    "address": "\(address):\(boundPort)", "plugins.directory": "\(settings.pluginsDirectory)",
                    "tools": "\(toolCount)", "auth": "\(auth)", "config": "\(configSource)",
                    "grace": "\(grace)",
                ])
        }
        let monitor = DrainMonitor(host: toolHost, grace: grace, logger: logger)
        var group = ServiceGroupConfiguration(
            services: [.init(service: application), .init(service: monitor)], logger: logger)
        group.gracefulShutdownSignals = [.sigterm, .sigint]
        group.maximumGracefulShutdownDuration = grace
        var failure: (any Error)?
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            failure = error
        }
        let cut = monitor.finish()
        if cut > 0 {
            logger.error(
                "shutdown: the grace period passed with calls still running; they were cancelled",
                metadata: ["calls.cancelled": "\(cut)", "grace": "\(grace)"])
            throw ExitCode(1)
        }
        if let failure, !(failure is CancellationError) {
            logger.error("the server stopped: \(failure)")
            throw ExitCode(1)
        }
        logger.notice("shutdown complete")
    }
}
