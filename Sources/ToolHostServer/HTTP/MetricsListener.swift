import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// `GET /metrics` alone, on an address of its own (`metricsListen`): how a daemon whose front end cannot be scraped
/// (`toolhost mcp` speaks over stdio) is scraped. Guarded like the REST server: browser pages are refused
/// (`BrowserGuardMiddleware`), and with a token every request must carry it. Any other path is 404, another method
/// 405.
public struct MetricsListener: Sendable {
    /// Where it listens and who may scrape.
    public struct Configuration: Sendable {
        public var host: String
        /// 0: an ephemeral port (logged once bound).
        public var port: Int
        /// The bearer tokens of which scrapers must send one (any token of the token file); nil: none (loopback
        /// only, ``ToolHostDaemon`` checks).
        public var tokens: AccessTokens?

        public init(host: String, port: Int, tokens: AccessTokens? = nil) {
            self.host = host
            self.port = port
            self.tokens = tokens
        }

        /// Whether `host` is a loopback address or name.
        public var listensOnLoopback: Bool {
            BrowserGuardMiddleware.isLoopbackHost(host)
        }
    }

    private let exporter: MetricsExporter
    private let configuration: Configuration
    private let logger: Logger

    public init(exporter: MetricsExporter, configuration: Configuration, logger: Logger) {
        self.exporter = exporter
        self.configuration = configuration
        self.logger = logger
    }

    /// The listener as a `Service`: on graceful shutdown it stops accepting and finishes the scrapes in flight.
    /// - Parameter onListening: called with the bound port once it accepts connections.
    public func makeService(onListening: @escaping @Sendable (Int) -> Void) -> some Service {
        let router = Router(context: ToolHostRequestContext.self, options: .autoGenerateHeadEndpoints)
        let noToken = configuration.tokens == nil
        router.add(
            middleware: BrowserGuardMiddleware(
                loopbackOrigins: noToken, loopbackHosts: noToken && configuration.listensOnLoopback))
        if let tokens = configuration.tokens { router.add(middleware: BearerTokenMiddleware(tokens: tokens)) }
        let exporter = self.exporter
        router.get("/metrics") { _, _ in exporter.response() }
        router.add(middleware: MethodNotAllowedMiddleware(routes: [("/metrics", [.get, .head])]))
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "toolhost"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
