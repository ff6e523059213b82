import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import ToolHost

/// A toolhost daemon: one host, the directory watcher and a front end (HTTP, or MCP over a pair of descriptors),
/// each a `Service` in one `ServiceGroup` that owns the signals, the grace period and the backstop.
///
/// Shutdown (SIGTERM, SIGINT, or the MCP client closing its input): the host stops taking calls, the front end
/// stops accepting and waits for the calls in flight up to the grace period; calls still running then are
/// cancelled (over HTTP the REST front end cuts its own calls and answers them 503, within ``answerMargin``,
/// before the group cancels what is left), and past a further ``cancellationBackstop`` the group's own
/// cancellation deadline ends the process.
/// ``run()`` returns the exit status: 0 when every call finished, 1 when the grace period cut calls short or a
/// service failed.
public struct ToolHostDaemon: Sendable {
    /// What the daemon serves.
    public enum Front: Sendable {
        /// The REST API, `/mcp`, `/metrics` and the health endpoints at `settings.http.listen`.
        case http(insecureNoAuth: Bool)
        /// MCP over newline-delimited JSON-RPC on these descriptors (`toolhost mcp`).
        case mcpStdio(input: Int32, output: Int32)
    }

    /// A daemon that cannot start: a setting the front end cannot use. The message says what to do.
    public struct StartError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// How long cancelled work may take to end after the grace period before the process is ended.
    public static let cancellationBackstop: Duration = .seconds(10)

    /// How long the HTTP front end has after the grace period to answer the calls it cut (503) before the group
    /// cancels it.
    public static let answerMargin: Duration = .seconds(2)

    /// What the plugins directory is watched for.
    public enum Watch: Sendable {
        /// Nothing: the plugins are those found at start.
        case off
        /// Plugins added, removed, or replaced by writing their `manifest.json` (the commit point).
        case manifests
        /// Also a plugin's library written in place (`--dev`: an author's rebuild is served as it lands).
        case libraries
    }

    private let settings: Settings
    private let front: Front
    private let watch: Watch
    private let metrics: PrometheusCollectorRegistry?
    private let logger: Logger

    /// - Parameters:
    ///   - settings: every setting, already read.
    ///   - front: what to serve.
    ///   - watch: whether to pick up plugins added, replaced or removed while running, and what reloads them.
    ///   - metrics: the registry swift-metrics was bootstrapped with (``bootstrap(logLevel:)``), served at
    ///     `/metrics`; nil: no such route.
    ///   - logger: the daemon's logger.
    public init(
        settings: Settings, front: Front, watch: Watch = .manifests, metrics: PrometheusCollectorRegistry? = nil,
        logger: Logger
    ) {
        self.settings = settings
        self.front = front
        self.watch = watch
        self.metrics = metrics
        self.logger = logger
    }

    /// Bootstraps swift-log (stderr, at `logLevel`) and swift-metrics (Prometheus) for the process: an executable
    /// calls it once, before anything makes a logger or a metric.
    /// - Returns: the registry to give ``init(settings:front:watch:metrics:logger:)``.
    public static func bootstrap(logLevel: Logger.Level) -> PrometheusCollectorRegistry {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(MetricsExporter.makeFactory(registry: registry))
        return registry
    }

    /// Reads the bearer token and applies the rule that only a loopback address may go without one.
    /// - Throws: `StartError` when the token file cannot be read or is empty, or a non-loopback address has no
    ///   token and `insecureNoAuth` is false.
    public static func httpConfiguration(_ http: Settings.HTTP, insecureNoAuth: Bool) throws(StartError)
        -> RESTServer.Configuration
    {
        var server = RESTServer.Configuration()
        (server.host, server.port) = http.address
        server.maxBodyBytes = http.maxBodyBytes
        server.compressMinBytes = http.compressMinBytes
        server.maxConnections = http.maxConnections
        server.idleTimeout = http.idleTimeout
        server.mcp.maxSessionsPerClient = http.mcpMaxSessionsPerClient
        if let tokenFile = http.tokenFile { server.tokens = try readTokens(file: tokenFile) }
        if !server.listensOnLoopback && server.tokens == nil && !insecureNoAuth {
            throw StartError(
                description: "listening on \(server.host) (not loopback) needs a token file (--token-file), "
                    + "or --insecure-no-auth to serve without authentication")
        }
        return server
    }

    /// Reads the token file: one token (its text without surrounding white space), or named tokens as JSON
    /// (``AccessTokens``).
    /// - Throws: `StartError` when the file cannot be read, holds no token, or names its tokens wrongly.
    public static func readTokens(file: String) throws(StartError) -> AccessTokens {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw StartError(description: "cannot read the token file '\(file)'")
        }
        do throws(TokenFileError) {
            return try AccessTokens(fileText: text)
        } catch {
            throw StartError(description: "the token file '\(file)' \(error.message)")
        }
    }

    /// The metrics listener's address and token: anything but loopback needs the token of `tokenFile`.
    /// - Throws: `StartError` when the token file cannot be read, or a non-loopback address has no token.
    public static func metricsListenerConfiguration(_ settings: Settings) throws(StartError)
        -> MetricsListener.Configuration?
    {
        guard let listen = settings.observability.metricsListen,
            let (host, port) = Settings.HTTP.parseListen(listen)
        else { return nil }
        var configuration = MetricsListener.Configuration(host: host, port: port)
        if let tokenFile = settings.http.tokenFile { configuration.tokens = try readTokens(file: tokenFile) }
        if !configuration.listensOnLoopback && configuration.tokens == nil {
            throw StartError(
                description: "metricsListen \(listen) is not a loopback address: set tokenFile (TOOLHOST_TOKEN_FILE or "
                    + "the config file) so scrapers must send its token, or listen on 127.0.0.1")
        }
        return configuration
    }

    /// Runs until shutdown.
    /// - Returns: the process's exit status.
    /// - Throws: `StartError` before anything runs when the front end's settings cannot be used.
    public func run() async throws(StartError) -> Int32 {
        var server: RESTServer.Configuration?
        let metricsListener = try Self.metricsListenerConfiguration(settings)
        if case .http(let insecureNoAuth) = front {
            server = try Self.httpConfiguration(settings.http, insecureNoAuth: insecureNoAuth)
            try DescriptorLimit.makeRoom(forConnections: settings.http.maxConnections)
        }
        var configuration = settings.host
        // The daemons keep results in the L2 file unless told not to.
        if configuration.cache.l2.enabled == nil { configuration.cache.l2.enabled = true }
        let traceExport = try TraceExport.make(settings.traces, logger: Logger(label: "toolhost.tracing"))
        if let traceExport { configuration.tracer = traceExport.tracer }
        let host = ToolHost(configuration: configuration, logger: Logger(label: "toolhost"))
        defer { host.shutdown() }
        let grace = settings.http.gracePeriod
        let drainDeadline = DrainDeadline()

        let memory = MemorySampler(interval: settings.observability.memorySampleInterval)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let traceExport {
            // First in the group, so last to shut down: the spans of the calls drained are flushed.
            services.append(.init(service: traceExport.service))
            let form = settings.traces.wireProtocol.rawValue
            logger.notice(
                "tracing: spans go to \(traceExport.url) (\(form), sampled at \(settings.traces.sampleRatio))",
                metadata: ["tracing.endpoint": "\(traceExport.url)"])
        }
        services.append(
            .init(service: MemorySamplerService(host: host, sampler: memory), successTerminationBehavior: .ignore))
        let exporter = metrics.map { MetricsExporter(registry: $0, host: host, memory: memory) }
        if let metricsListener, let exporter {
            services.append(.init(service: metricsService(metricsListener, exporter: exporter)))
        }
        if watch != .off {
            services.append(
                .init(
                    service: WatcherService(
                        host: host, libraries: watch == .libraries, logger: Logger(label: "toolhost.watch")),
                    successTerminationBehavior: .ignore))
        }
        switch front {
        case .http:
            guard var server else { return 1 }
            server.results = settings.results
            server.mcp.resultContent = settings.mcpResultContent
            server.metrics = exporter
            server.memory = memory
            services.append(.init(service: httpService(host: host, server: server, drainDeadline: drainDeadline)))
        case .mcpStdio(let input, let output):
            let mcp = MCPStdioServer(
                host: host, input: input, output: output, results: ResultStore(configuration: settings.results),
                resultContent: settings.mcpResultContent, logger: Logger(label: "toolhost.mcp"))
            // The client closing its input ends the session: the whole daemon shuts down gracefully.
            services.append(.init(service: mcp, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        var answerMargin: Duration = .zero
        if case .http = front { answerMargin = Self.answerMargin }
        services.append(
            .init(
                service: HostService(
                    host: host, grace: grace, deadline: answerMargin > .zero ? drainDeadline : nil, logger: logger)))

        var group = ServiceGroupConfiguration(services: services, logger: logger)
        group.gracefulShutdownSignals = [.sigterm, .sigint]
        group.maximumGracefulShutdownDuration = grace + answerMargin
        group.maximumCancellationDuration = Self.cancellationBackstop
        var failure: (any Error)?
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            failure = error
        }
        await host.closeCache()
        let cut = host.callsCutByDrain
        if cut > 0 {
            logger.error(
                "shutdown: the grace period passed with calls still running; they were cancelled",
                metadata: ["calls.cancelled": "\(cut)", "grace": "\(grace)"])
            return 1
        }
        if let failure, !(failure is CancellationError) {
            logger.error("the daemon stopped: \(failure)")
            return 1
        }
        logger.notice("shutdown complete")
        return 0
    }

    /// How requests are authenticated, for the startup lines.
    private static func authDescription(_ tokens: AccessTokens?) -> String {
        guard let tokens else { return "no auth" }
        let named = tokens.tokens.compactMap(\.agent)
        return named.isEmpty ? "bearer token" : "bearer tokens of \(named.count) named agents"
    }

    /// The metrics listener, logging its address (useful with port 0) once it listens.
    private func metricsService(
        _ configuration: MetricsListener.Configuration, exporter: MetricsExporter
    ) -> some Service {
        var startup = logger
        startup.logLevel = min(startup.logLevel, .notice)
        let address = configuration.host
        let auth = Self.authDescription(configuration.tokens)
        return MetricsListener(exporter: exporter, configuration: configuration, logger: logger).makeService {
            [startup] port in
            startup.notice(
                "metrics listening on http://\(address):\(port)/metrics (\(auth))",
                metadata: ["address": "\(address):\(port)", "auth": "\(auth)"])
        }
    }

    /// The HTTP application, logging the startup line (the bound address, useful with port 0) once it listens.
    private func httpService(
        host: ToolHost, server: RESTServer.Configuration, drainDeadline: DrainDeadline
    ) -> some Service {
        let toolCount = host.tools().count
        let auth = Self.authDescription(server.tokens)
        let configSource = settings.sources.isEmpty ? "defaults" : settings.sources.joined(separator: " + ")
        let directory = settings.host.pluginsDirectory
        let grace = settings.http.gracePeriod
        var startup = logger
        startup.logLevel = min(startup.logLevel, .notice)
        let address = server.host
        let rest = RESTServer(host: host, configuration: server, drainDeadline: drainDeadline, logger: logger)
        return rest.makeService { [startup] port in
            startup.notice(
                "listening on http://\(address):\(port) (\(toolCount) tools from \(directory), \(auth), config: \(configSource))",
                metadata: [
                    "address": "\(address):\(port)", "plugins.directory": "\(directory)", "tools": "\(toolCount)",
                    "auth": "\(auth)", "config": "\(configSource)", "grace": "\(grace)",
                ])
        }
    }
}
