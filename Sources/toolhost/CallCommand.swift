import ArgumentParser
import Foundation
import ToolHost
import ToolHostJSON
import ToolHostServer

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a tool and print its result JSON on stdout.",
        discussion: """
            On failure prints one line on stderr and exits with the error's code (see `toolhost --help`). Plugin \
            output on file descriptor 1 goes to stderr, never into the result.
            """)

    @OptionGroup var settings: SettingsOptions

    @Argument(help: "The tool, as <plugin>.<tool>.")
    var tool: String

    @Argument(help: "The arguments as a JSON object, or - to read them from stdin (default: {}).")
    var arguments: String = "{}"

    @Option(name: .long, help: "Cap the call's deadline, in milliseconds (1...86400000).")
    var timeoutMs: String?

    @Option(name: .long, help: "Override the tool's priority, -1000...1000 (higher runs first when calls wait).")
    var priority: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A budget for the result, in bytes (1024...1073741824): a larger result is printed shaped to fit, "
                + "with a \"truncated\" note (default: the tool's own budget, if it sets one)."))
    var maxResultBytes: String?

    @Flag(name: .long, help: "Pretty-print the result (default when stdout is a terminal).")
    var pretty = false

    @OptionGroup var agent: AgentOption

    func run() async throws {
        let text: [UInt8]
        if arguments == "-" {
            text = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            text = Array(arguments.utf8)
        }
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(text)
        } catch {
            printError("toolhost: invalid_arguments: the arguments are not valid JSON: \(error)")
            throw ExitCode(ToolError.Code.invalidArguments.exitCode)
        }
        let timeout: Duration?
        let priority: Int?
        let budget: Int?
        do {
            budget = try maxResultBytes.map { text throws(ToolError) in
                try ToolCall.resultBudget(text: text, field: "--max-result-bytes")
            }
            timeout = try timeoutMs.map { text throws(ToolError) in
                try ToolCall.timeout(text: text, field: "--timeout-ms")
            }
            priority = try self.priority.map { text throws(ToolError) in
                try ToolCall.priority(text: text, field: "--priority")
            }
        } catch {
            printError("toolhost: \(error.message)")
            throw ExitCode(64)
        }
        // A plugin's printf goes to stderr, not into the result a script parses.
        guard CommandOutput.divert() != nil else {
            printError("toolhost: call: cannot keep stdout apart from plugin output (errno \(errno))")
            throw ExitCode(10)
        }
        let (toolHost, _) = try settings.makeHost("call")
        defer { toolHost.shutdown() }
        let outcome = await toolHost.call(
            ToolCall(tool: tool, arguments: parsed, priority: priority, timeout: timeout, agent: agent.name))
        // The result reaches the L2 file (when enabled) before the process ends.
        await toolHost.closeCache()
        do {
            var result = try outcome.get()
            result.output = result.budgeted(asked: budget, store: nil, owner: "").output
            if pretty || CommandOutput.isTerminal {
                CommandOutput.writeLine(Array(result.json.prettyPrinted().utf8))
            } else {
                CommandOutput.writeLine(result.output)
            }
        } catch {
            printError("toolhost: \(error.code): \(error.message)")
            throw ExitCode(error.code.exitCode)
        }
    }
}
