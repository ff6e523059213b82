import ArgumentParser
import Foundation
import Logging
import ToolHost
import ToolHostJSON
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
            details. Then it calls each tool's manifest "examples" in worker processes, so a handler that crashes, \
            hangs or answers other than the example's "result" or "error" is a problem, not a surprise after \
            shipping; --call TOOL JSON makes one more call and prints its answer. It warns about policies that \
            cannot apply (maxConcurrency above 1 on a tool not registered thread-safe, retries on a tool neither \
            deterministic nor idempotent). With --signatures warn or require it also checks manifest.sig against \
            the trust store (a warning, or a problem). Prints every problem with a fix; exits 0 only when there is \
            none.
            """)

    @Argument(help: "The plugin directory (the folder holding manifest.json).")
    var directory: String

    @Option(
        name: .customLong("call"), parsing: .upToNextOption,
        help: ArgumentHelp(
            "Call a tool once in a worker process and print its answer: --call TOOL JSON (TOOL with or without "
                + "the plugin's name; JSON the arguments object). Repeatable.", valueName: "TOOL JSON"))
    var call: [String] = []

    @OptionGroup var settings: SettingsOptions

    func validate() throws {
        guard call.count % 2 == 0 else {
            throw ValidationError(
                "--call takes two values, the tool and its arguments as one JSON object: --call reverse '{\"text\": "
                    + "\"abc\"}' (got \(call.count == 1 ? "only \(call[0])" : call.joined(separator: " ")))")
        }
    }

    /// The --call pairs, with their arguments parsed.
    private func oneOffCalls() throws -> [PluginCheck.OneOffCall] {
        try stride(from: 0, to: call.count, by: 2).map { index in
            let (tool, text) = (call[index], call[index + 1])
            let arguments: JSONValue
            do {
                arguments = try JSONValue.parse(Array(text.utf8))
            } catch {
                throw ValidationError("--call \(tool): the arguments are not JSON (\(error)): give one JSON object")
            }
            guard case .object = arguments else {
                throw ValidationError("--call \(tool): the arguments must be a JSON object, like '{\"text\": \"abc\"}'")
            }
            return PluginCheck.OneOffCall(tool: tool, arguments: arguments)
        }
    }

    func run() async throws {
        let calls = try oneOffCalls()
        let read = try settings.read("check")
        bootstrapLogging(read.logLevel)
        let report = await PluginCheck.run(
            directory: directory, logger: Logger(label: "toolhost"),
            allowedSystemLibraries: read.host.allowedSystemLibraries,
            workerExecutable: ToolHost.Configuration.Isolation.currentExecutable,
            strictFilePermissions: read.host.strictFilePermissions, signatures: read.host.signatures, calls: calls)
        for warning in report.warnings {
            print("warning: \(warning)")
        }
        for answer in report.answers {
            print("call: \(answer)")
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
