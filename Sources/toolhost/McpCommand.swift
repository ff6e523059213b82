import ArgumentParser
import Foundation
import Logging
import ToolHostServer

struct McpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the tools over the Model Context Protocol on stdin/stdout (as an agent spawns it).",
        discussion: """
            Newline-delimited JSON-RPC 2.0. The protocol keeps private copies of stdin and stdout; file \
            descriptor 1 is pointed at stderr and 0 at /dev/null before any plugin is loaded, so plugin code never \
            touches the stream. Ends when stdin closes or on SIGTERM/SIGINT: reading stops, the calls in flight \
            finish within --grace-seconds (then they are cancelled and the exit status is 1).
            """)

    @OptionGroup var settings: SettingsOptions
    @OptionGroup var daemon: DaemonOptions

    func run() async throws {
        // A quiet log by default: stderr belongs to the agent that spawned us.
        let read = try settings.read("mcp", logLevel: .warning, more: daemon.flags)
        // Keep the protocol on private duplicates of stdin and stdout, then point fd 1 at stderr (as `call` and
        // `batch` do) and fd 0 at /dev/null, so plugin code can neither write into the stream nor read from it.
        let input = dup(0)
        let devNull = open("/dev/null", O_RDONLY)
        guard input >= 0, devNull >= 0, fcntl(input, F_SETFD, FD_CLOEXEC) == 0, let output = CommandOutput.divert(),
            dup2(devNull, 0) >= 0
        else {
            printError("toolhost: mcp: cannot set up the protocol descriptors (errno \(errno))")
            throw ExitCode(10)
        }
        close(devNull)
        let metrics = ToolHostDaemon.bootstrap(logLevel: read.logLevel)
        let daemon = ToolHostDaemon(
            settings: read, front: .mcpStdio(input: input, output: output), watch: self.daemon.watch,
            metrics: metrics, logger: Logger(label: "toolhost.mcp"))
        do {
            let status = try await daemon.run()
            if status != 0 { throw ExitCode(status) }
        } catch let error as ToolHostDaemon.StartError {
            printError("toolhost: mcp: \(error)")
            throw ExitCode(64)
        }
    }
}
