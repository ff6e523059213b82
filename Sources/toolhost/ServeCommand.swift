import ArgumentParser
import Logging
import ToolHostServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the tools over HTTP: the REST API under /v1, /mcp, /metrics, /healthz and /readyz.",
        discussion: """
            Listening on anything but loopback needs --token-file (a bearer token every request but /healthz \
            must carry, /metrics included) unless --insecure-no-auth is given. SIGTERM or SIGINT stops taking \
            calls (/readyz answers 503) and lets calls in flight finish within --grace-seconds; exit 0 when they \
            all did, 1 when calls had to be cancelled. The startup line on stderr names the bound address (useful \
            with port 0).
            """)

    @OptionGroup var settings: SettingsOptions
    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: "HOST:PORT to listen on (port 0: an ephemeral port; default 127.0.0.1:8080).")
    var listen: String?

    @Option(name: .long, help: "A file holding the bearer token clients must send.")
    var tokenFile: String?

    @Option(
        name: .long, help: "The largest request body accepted, in bytes, decoded if it is compressed (default 1048576)."
    )
    var maxBodyBytes: String?

    @Option(
        name: .long,
        help:
            "Compress JSON answers of at least this many bytes when the client accepts gzip or deflate (default 1024).")
    var compressMinBytes: String?

    @Option(
        name: .long,
        help: "The most HTTP connections open at once; more are answered 503 and closed (default 512).")
    var maxConnections: String?

    @Option(
        name: .long,
        help: "Close a connection silent this many seconds: no request, or one that stops arriving (default 30).")
    var idleTimeoutSeconds: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The most MCP sessions one client (a named token's agent, else an address) keeps at once, 1...1024 "
                + "(default 64): a new one ends its least recently used idle one."))
    var mcpMaxSessionsPerClient: String?

    @Flag(name: .long, help: "Allow a non-loopback address without a token.")
    var insecureNoAuth = false

    func run() async throws {
        let http: [(String, String?)] = [
            ("--listen", listen), ("--token-file", tokenFile), ("--max-body-bytes", maxBodyBytes),
            ("--compress-min-bytes", compressMinBytes),
            ("--max-connections", maxConnections), ("--idle-timeout-seconds", idleTimeoutSeconds),
            ("--mcp-max-sessions-per-client", mcpMaxSessionsPerClient),
        ]
        let read = try settings.read(
            "serve", logLevel: .info, more: daemon.flags + http.compactMap { flag, value in value.map { (flag, $0) } })
        let metrics = ToolHostDaemon.bootstrap(logLevel: read.logLevel)
        let daemon = ToolHostDaemon(
            settings: read, front: .http(insecureNoAuth: insecureNoAuth), watch: self.daemon.watch,
            metrics: metrics, logger: Logger(label: "toolhost.serve"))
        do {
            let status = try await daemon.run()
            if status != 0 { throw ExitCode(status) }
        } catch let error as ToolHostDaemon.StartError {
            printError("toolhost: serve: \(error)")
            throw ExitCode(64)
        }
    }
}
