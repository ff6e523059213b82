import ArgumentParser
import Foundation
import Logging
import ToolHost
import ToolHostServer

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a plugin directory as a tool author would before shipping it.",
        discussion: """
            Checks the manifest against plugin-sdk/manifest.schema.json, each tool's input schema, the library's \
            sha256 and ELF header, then loads it: the entry symbol, the ABI version, init, and that the library \
            registers exactly the tools the manifest declares. It loads it in a worker process first (`toolhost \
            worker`), so an init that crashes or hangs is reported as a problem, then in this process for the \
            details. With --signatures warn or require it also checks manifest.sig against the trust store (a \
            warning, or a problem). Prints every problem with a fix; exits 0 only when there is none.
            """)

    @Argument(help: "The plugin directory (the folder holding manifest.json).")
    var directory: String

    @OptionGroup var settings: SettingsOptions

    func run() async throws {
        let read = try settings.read("check")
        bootstrapLogging(read.logLevel)
        let report = await PluginCheck.run(
            directory: directory, logger: Logger(label: "toolhost"),
            allowedSystemLibraries: read.host.allowedSystemLibraries,
            workerExecutable: ToolHost.Configuration.Isolation.currentExecutable,
            strictFilePermissions: read.host.strictFilePermissions, signatures: read.host.signatures)
        for warning in report.warnings {
            print("warning: \(warning)")
        }
        for problem in report.problems {
            print("error: \(problem)")
        }
        if report.problems.isEmpty {
            print("ok: \(report.summary)")
        } else {
            print("\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s") in \(directory)")
            throw ExitCode(1)
        }
    }
}
