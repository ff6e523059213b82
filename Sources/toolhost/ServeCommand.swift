import ArgumentParser
import Foundation
import Logging
import ToolHost
import ToolHostServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the tools over HTTP: the REST API under /v1, /healthz and /readyz.",
        discussion: """
            Listening on anything but loopback needs --token-file (a bearer token every request but /healthz \
            must carry) unless --insecure-no-auth is given. SIGTERM or SIGINT stops accepting and lets requests \
            in flight finish. The startup line on stderr names the bound address (useful with port 0).
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var watch: WatchOptions

    @Option(name: .long, help: "HOST:PORT to listen on (port 0: an ephemeral port).")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .long, help: "A file holding the bearer token clients must send.")
    var tokenFile: String?

    @Flag(name: .long, help: "Allow a non-loopback address without a token.")
    var insecureNoAuth = false

    @Option(name: .long, help: "The largest request body accepted, in bytes.")
    var maxBodyBytes: Int = 1 << 20

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            printError("toolhost: --listen must be HOST:PORT, not '\(listen)'")
            throw ExitCode(64)
        }
        var address = String(listen[..<colon])
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        var configuration = RESTServer.Configuration()
        configuration.host = address
        configuration.port = port
        configuration.maxBodyBytes = maxBodyBytes
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                printError("toolhost: cannot read the token file '\(tokenFile)'")
                throw ExitCode(64)
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else {
                printError("toolhost: the token file '\(tokenFile)' is empty")
                throw ExitCode(64)
            }
            configuration.token = token
        }
        let loopback = address == "localhost" || address == "::1" || address.hasPrefix("127.")
        if !loopback && configuration.token == nil && !insecureNoAuth {
            printError(
                "toolhost: serve: listening on \(address) (not loopback) needs --token-file, "
                    + "or --insecure-no-auth to serve without authentication")
            throw ExitCode(64)
        }
        let toolHost = host.makeHost()
        defer { toolHost.shutdown() }
        let watcher = watch.start(toolHost)
        defer { watcher?.stop() }
        let server = RESTServer(host: toolHost, configuration: configuration, logger: Logger(label: "toolhost.serve"))
        let toolCount = toolHost.tools().count
        let directory = host.pluginsDirectory
        let shownAddress = address
        let auth = configuration.token == nil ? "no auth" : "bearer token"
        try await server.run { boundPort in
            printError(
                "toolhost serve: listening on http://\(shownAddress):\(boundPort) (\(toolCount) tools from "
                    + "\(directory), \(auth))")
        }
    }
}
