import ArgumentParser
import Foundation
import ToolHost
import ToolHostJSON
import ToolHostServer

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a tool, or the best provider of a capability, and print its result JSON on stdout.",
        discussion: """
            On failure prints one line on stderr and exits with the error's code (see `toolhost --help`). With \
            --capability NAME the host picks the best available tool that provides NAME and fails over to the next \
            when one crashes, is unavailable or overloaded, fails transiently or times out with time left; the \
            provider that served the call is printed on stderr as `provider: <plugin>.<tool>`. Plugin output on \
            file descriptor 1 goes to stderr, never into the result.
            """)

    @OptionGroup var settings: SettingsOptions

    @Argument(help: "The tool, as <plugin>.<tool> (left out with --capability).")
    var tool: String?

    @Argument(help: "The arguments as a JSON object, or - to read them from stdin (default: {}).")
    var arguments: String?

    @Option(name: .long, help: "Call the best provider of this capability instead of a named tool.")
    var capability: String?

    @Option(
        name: .long,
        help: "With --capability: how demanding the task is, 0.01...1000, a factor on each provider's expected time.")
    var complexity: String?

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

    func validate() throws {
        if capability != nil {
            guard arguments == nil else {
                throw ValidationError(
                    "with --capability give only the arguments: toolhost call --capability NAME '{\"text\": \"abc\"}'")
            }
        } else {
            guard tool != nil else {
                throw ValidationError("name the tool (<plugin>.<tool>), or a capability with --capability NAME")
            }
            guard complexity == nil else {
                throw ValidationError("--complexity ranks the providers of a capability: use it with --capability")
            }
        }
    }

    func run() async throws {
        // With --capability the one positional argument is the arguments object.
        let arguments = (capability != nil ? tool : self.arguments) ?? "{}"
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
        let complexity: Double?
        do {
            complexity = try self.complexity.map { text throws(ToolError) in
                try ToolCall.complexity(text: text, field: "--complexity")
            }
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
        var call =
            if let capability {
                ToolCall(
                    capability: capability, arguments: parsed, priority: priority, timeout: timeout,
                    complexity: complexity, agent: agent.name)
            } else {
                ToolCall(tool: tool ?? "", arguments: parsed, priority: priority, timeout: timeout, agent: agent.name)
            }
        let outcome: Result<ToolResult, ToolError>
        if ProgressBar.isShown {
            // A bar on the terminal while the call runs; cleared before anything else is printed.
            let bar = ProgressBar()
            let progress = CallProgress()
            call.progress = progress
            outcome = await progress.relay(to: { bar.show($0) }, while: { [call] in await toolHost.call(call) })
            bar.clear()
        } else {
            outcome = await toolHost.call(call)
        }
        // The result reaches the L2 file (when enabled) before the process ends.
        await toolHost.closeCache()
        do {
            var result = try outcome.get()
            if result.capability != nil {
                for failure in result.failedOver {
                    printError("failed over: \(failure.provider): \(failure.error.code): \(failure.error.message)")
                }
                printError("provider: \(result.tool)")
            }
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
