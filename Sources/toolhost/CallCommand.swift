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

    @Flag(name: .long, help: "Pretty-print the result (default when stdout is a terminal).")
    var pretty = false

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
        do {
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
        do {
            let result = try await toolHost.call(
                tool, arguments: parsed, priority: priority, timeout: timeout)
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
