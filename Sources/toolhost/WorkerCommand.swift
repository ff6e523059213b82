import ArgumentParser
import Foundation
import Logging
import ToolHost

/// `toolhost worker`: the process-isolation worker. The host starts it with its channel on fd 3, the private copy
/// of the library it validated and that copy's sha256, and sends the manifest it parsed as the first frame; not for
/// people to run.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run one plugin for a host over fd 3 (process isolation; internal).",
        shouldDisplay: false)

    @Option(name: .customLong("plugin")) var pluginName: String
    /// The host's private copy of the library (absent for a system library).
    @Option(name: .customLong("library")) var libraryPath: String?
    @Option(name: .customLong("sha256")) var sha256: String?
    @Option(name: .customLong("max-output-bytes")) var maxOutputBytes: Int = 16 << 20
    @Option(name: .customLong("allow-system-library")) var allowedSystemLibraries: [String] = []
    /// The operator turned the worker sandbox off (`isolation.sandbox`).
    @Flag(name: .customLong("no-sandbox")) var noSandbox = false

    func validate() throws {
        guard (libraryPath == nil) == (sha256 == nil) else {
            throw ValidationError("--library and --sha256 go together")
        }
    }

    func run() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let status = WorkerMain.run(
            pluginName: pluginName, libraryPath: libraryPath, sha256: sha256,
            allowedSystemLibraries: Set(allowedSystemLibraries), maxOutputBytes: maxOutputBytes, sandbox: !noSandbox,
            logger: Logger(label: "toolhost.worker"))
        throw ExitCode(status)
    }
}
