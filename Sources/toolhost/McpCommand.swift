import ArgumentParser
import Foundation
import ToolHost
import ToolHostServer

#if canImport(Glibc)
    import Glibc
#endif

struct McpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the tools over the Model Context Protocol on stdin/stdout (as an agent spawns it).",
        discussion: """
            Newline-delimited JSON-RPC 2.0. The protocol keeps private copies of stdin and stdout; file \
            descriptor 1 is pointed at stderr and 0 at /dev/null before any plugin is loaded, so plugin code never \
            touches the stream. \
            Exits when stdin closes, after the calls in flight finish.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var watch: WatchOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A JSON config file, the one `toolhost serve` reads (default: $TOOLHOST_CONFIG). Its limits, timeouts, "
                + "cache, isolation and pluginOverrides apply; listen, tokenFile, maxBodyBytes and graceSeconds "
                + "are HTTP settings, checked and unused here. Flags beat TOOLHOST_* variables, which beat the file.",
            valueName: "file"))
    var config: String?

    func run() async throws {
        // Keep the protocol on private duplicates of stdin and stdout, then point fd 1 at stderr and fd 0 at
        // /dev/null, so plugin code can neither write into the stream nor read from it.
        let protocolInput = dup(0)
        let protocolOutput = dup(1)
        let devNull = open("/dev/null", O_RDONLY)
        guard protocolInput >= 0, protocolOutput >= 0, devNull >= 0,
            fcntl(protocolInput, F_SETFD, FD_CLOEXEC) == 0, fcntl(protocolOutput, F_SETFD, FD_CLOEXEC) == 0,
            dup2(2, 1) >= 0, dup2(devNull, 0) >= 0
        else {
            printError("toolhost: mcp: cannot set up the protocol descriptors (errno \(errno))")
            throw ExitCode(10)
        }
        close(devNull)
        // A quiet log by default: stderr belongs to the agent that spawned us.
        var quiet = DaemonConfiguration()
        quiet.logLevel = "warning"
        let settings = try daemonSettings(
            "mcp", base: quiet, configFile: config,
            flags: [("--plugins", host.plugins), ("--log-level", host.logLevel), ("--isolation", host.isolation)])
        let toolHost = host.makeHost(
            configuration: settings.hostConfiguration(allowedSystemLibraries: host.systemLibraryAllowlist),
            logLevel: settings.logLevel)
        defer { toolHost.shutdown() }
        let watcher = watch.start(toolHost)
        defer { watcher?.stop() }
        let server = MCPStdioServer(host: toolHost, input: protocolInput, output: protocolOutput)
        await server.run()
    }
}
