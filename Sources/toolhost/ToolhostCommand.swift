import ArgumentParser
import Foundation
import Logging
import ToolHost
import ToolHostServer

@main
struct ToolhostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toolhost",
        abstract: "A plugin host for AI-agent tools: loads .so tool plugins and runs their calls.",
        discussion: """
            Plugins live in a plugins directory, one folder each (manifest.json and the library). The directory \
            is --plugins, else $TOOLHOST_PLUGINS, else the config file's pluginsDirectory, else ./plugins.

            Every command reads the same settings: flags, else TOOLHOST_* environment variables, else the JSON \
            config file (--config or $TOOLHOST_CONFIG), else the defaults; per-plugin caps (pluginOverrides) from \
            the file. A setting that cannot be used is an error naming its source and key (exit 64).

            Exit codes: 0 ok; 2 not_found; 3 invalid_arguments; 4 timeout; 5 plugin_error (the tool failed); \
            6 plugin_unavailable (the plugin could not be loaded); 7 plugin_crashed; 8 overloaded; 9 cancelled; \
            10 internal; 1 `check` found problems, `batch` had failed lines, or `cache` could not reach the daemon or \
            write the file; 64 bad command line.
            """,
        subcommands: [
            ListCommand.self, CallCommand.self, BatchCommand.self, DistributeCommand.self, CheckCommand.self,
            KeygenCommand.self, NewCommand.self,
            SignCommand.self, CacheCommand.self, McpCommand.self, ServeCommand.self, InsightsCommand.self,
            TopCommand.self,
            WorkerCommand.self,
        ]
    )
}

/// The exit code of each error kind (documented in `toolhost --help` and the README).
extension ToolError.Code {
    var exitCode: Int32 {
        switch self {
        case .notFound: 2
        case .invalidArguments: 3
        case .timeout: 4
        case .pluginError: 5
        case .pluginUnavailable: 6
        case .pluginCrashed: 7
        case .overloaded: 8
        case .cancelled: 9
        default: 10
        }
    }
}

/// Writes to stderr without buffering surprises.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The bytes of a command's input: the file `path`, or stdin for `-`.
/// - Throws: exit 64 (with a line on stderr) when the file cannot be read.
func readInput(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    guard let contents = FileManager.default.contents(atPath: path) else {
        printError("toolhost: cannot read \(path)")
        throw ExitCode(64)
    }
    return contents
}
