import ArgumentParser
import Foundation
import ToolHost
import ToolHostJSON
import ToolHostServer

struct DistributeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distribute",
        abstract: "Hand out tasks to the best providers of the capabilities they require, in parallel.",
        discussion: """
            The input is a JSON array of tasks {"id": "...", "requires": ["capability", ...], "arguments": {...}?, \
            "priority": n?, "complexity": x?, "timeoutMs": n?}. Each goes to the best available tool that provides \
            every capability it requires, failing over to the next such tool within its deadline; a task no tool \
            can take gets an error of its own. Prints {"results": [...], "utilisation": [...]} (as POST /v1/tasks \
            answers): each task in input order with its provider, time and outcome, and per provider its calls, \
            errors, mean and p99 time and load. Exits 0 when every task succeeded, else 1.
            """)

    @OptionGroup var settings: SettingsOptions

    @Option(name: .long, help: "How many tasks run at once, 1...1024 (the host's limits still apply).")
    var concurrency: Int = 16

    @OptionGroup var agent: AgentOption

    @Flag(name: .long, help: "Pretty-print the answer (default when stdout is a terminal).")
    var pretty = false

    @Argument(help: "A file holding the JSON array of tasks, or - for stdin.")
    var input: String

    func validate() throws {
        guard ToolHost.distributionConcurrencyRange.contains(Int64(concurrency)) else {
            throw ValidationError("--concurrency must be in 1...1024, not \(concurrency)")
        }
    }

    func run() async throws {
        let data = try readInput(input)
        let tasks: [DistributedTask]
        do {
            tasks = try DistributedTask.list(wire: try JSONValue.parse(Array(data)))
        } catch let error as ToolError {
            printError("toolhost: invalid_arguments: \(error.message)")
            throw ExitCode(ToolError.Code.invalidArguments.exitCode)
        } catch {
            printError("toolhost: invalid_arguments: the tasks are not valid JSON: \(error)")
            throw ExitCode(ToolError.Code.invalidArguments.exitCode)
        }
        // A plugin's printf goes to stderr, not into the answer a script parses.
        guard CommandOutput.divert() != nil else {
            printError("toolhost: distribute: cannot keep stdout apart from plugin output (errno \(errno))")
            throw ExitCode(10)
        }
        let (toolHost, _) = try settings.makeHost("distribute")
        defer { toolHost.shutdown() }
        let distribution = await toolHost.distribute(tasks, concurrency: concurrency, agent: agent.name)
        await toolHost.closeCache()
        let answer = distribution.wireJSON
        if pretty || CommandOutput.isTerminal {
            CommandOutput.writeLine(Array(answer.prettyPrinted().utf8))
        } else {
            CommandOutput.writeLine(answer.serialized())
        }
        let failed = distribution.outcomes.filter { if case .failure = $0.result { true } else { false } }.count
        if failed > 0 {
            printError("toolhost: \(failed) of \(tasks.count) tasks failed")
            throw ExitCode(1)
        }
    }
}
