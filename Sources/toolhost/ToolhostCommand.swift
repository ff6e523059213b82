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
            is --plugins, else $TOOLHOST_PLUGINS, else ./plugins.

            Exit codes: 0 ok; 2 not_found; 3 invalid_arguments; 4 timeout; 5 plugin_error (the tool failed); \
            6 plugin_unavailable (the plugin could not be loaded); 7 plugin_crashed; 8 overloaded; 9 cancelled; \
            10 internal; 1 `check` found problems or `batch` had failed lines; 64 bad command line.
            """,
        subcommands: [
            ListCommand.self, CallCommand.self, BatchCommand.self, CheckCommand.self, McpCommand.self,
            ServeCommand.self,
            WorkerCommand.self,
        ]
    )
}

/// Options every command that runs tools shares.
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: "The plugins directory (default: $TOOLHOST_PLUGINS, else ./plugins).")
    var plugins: String?

    @Option(
        name: .long, help: "Log level: trace, debug, info, warning, error (default: $TOOLHOST_LOG_LEVEL or warning).")
    var logLevel: String?

    @Option(
        name: .customLong("allow-system-library"),
        help: ArgumentHelp(
            "Allow manifest-only plugins to open this system library (repeatable; also "
                + "$TOOLHOST_ALLOWED_SYSTEM_LIBRARIES, comma-separated). libm.so.6 and libz.so.1 are always allowed.",
            valueName: "soname"))
    var allowedSystemLibraries: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Run every plugin inprocess or in worker processes (process), whatever the manifests say "
                + "(default: each manifest's isolation, else $TOOLHOST_ISOLATION).",
            valueName: "mode"))
    var isolation: String?

    /// The default allowlist plus the operator's additions.
    var systemLibraryAllowlist: Set<String> {
        var allowed = ToolHost.Configuration.defaultAllowedSystemLibraries
        allowed.formUnion(allowedSystemLibraries)
        let fromEnvironment = ProcessInfo.processInfo.environment["TOOLHOST_ALLOWED_SYSTEM_LIBRARIES"] ?? ""
        allowed.formUnion(fromEnvironment.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        return allowed.filter { !$0.isEmpty }
    }

    var pluginsDirectory: String {
        if let plugins { return plugins }
        if let fromEnvironment = ProcessInfo.processInfo.environment["TOOLHOST_PLUGINS"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "plugins"
    }

    /// Sets up logging to stderr (executables bootstrap; libraries only accept a Logger).
    /// - Parameter resolved: the level already read from every source; nil: `--log-level`, else the environment.
    func makeLogger(level resolved: String? = nil) -> Logger {
        let raw = resolved ?? logLevel ?? ProcessInfo.processInfo.environment["TOOLHOST_LOG_LEVEL"] ?? "warning"
        let level = Logger.Level(rawValue: raw.lowercased()) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "toolhost")
    }

    func makeHost() -> ToolHost {
        let logger = makeLogger()
        var configuration = ToolHost.Configuration(pluginsDirectory: pluginsDirectory)
        configuration.allowedSystemLibraries = systemLibraryAllowlist
        let mode = isolation ?? ProcessInfo.processInfo.environment["TOOLHOST_ISOLATION"]
        if let mode, !mode.isEmpty {
            guard let parsed = IsolationMode(rawValue: mode) else {
                printError("toolhost: --isolation must be inprocess or process, not '\(mode)'")
                Foundation.exit(64)
            }
            configuration.isolation.mode = parsed
        }
        return ToolHost(configuration: configuration, logger: logger)
    }

    /// A host with a configuration resolved elsewhere (`toolhost mcp` reads the config file too).
    func makeHost(configuration: ToolHost.Configuration, logLevel: String) -> ToolHost {
        ToolHost(configuration: configuration, logger: makeLogger(level: logLevel))
    }
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

/// The daemon settings of `serve` and `mcp`: `base`, then the config file, the environment and the flags. A bad
/// setting is printed naming its source and key, and the command exits 64.
/// - Parameters:
///   - command: the subcommand, for the message.
///   - flags: the flags the user gave, by name; nil values were not given.
func daemonSettings(
    _ command: String, base: DaemonConfiguration = DaemonConfiguration(), configFile: String?,
    flags: [(String, String?)]
) throws -> DaemonConfiguration {
    var settings = base
    do {
        try settings.apply(
            configFile: configFile, environment: ProcessInfo.processInfo.environment,
            flags: flags.compactMap { flag, value in value.map { (flag, $0) } })
    } catch {
        printError("toolhost: \(command): \(error)")
        throw ExitCode(64)
    }
    return settings
}

/// Writes to stderr without buffering surprises.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes bytes and a newline to stdout.
func writeLine(_ bytes: [UInt8]) {
    var line = bytes
    line.append(0x0A)
    FileHandle.standardOutput.write(Data(line))
}
