import ArgumentParser
import Foundation
import Logging
import ToolHost

/// `toolhost worker`: the process-isolation worker. The host starts it with its channel on fd 3; not for
/// people to run.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run one plugin for a host over fd 3 (process isolation; internal).",
        shouldDisplay: false)

    @Option(name: .customLong("plugin-dir")) var pluginDirectory: String
    @Option(name: .customLong("library-store")) var libraryStore: String
    @Option(name: .customLong("max-output-bytes")) var maxOutputBytes: Int = 16 << 20
    @Option(name: .customLong("allow-system-library")) var allowedSystemLibraries: [String] = []

    func run() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let status = WorkerMain.run(
            pluginDirectory: pluginDirectory, libraryStore: libraryStore,
            allowedSystemLibraries: Set(allowedSystemLibraries), maxOutputBytes: maxOutputBytes,
            logger: Logger(label: "toolhost.worker"))
        throw ExitCode(status)
    }
}
