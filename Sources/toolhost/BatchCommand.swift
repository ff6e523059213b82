import ArgumentParser
import Foundation
import Synchronization
import ToolHost
import ToolHostJSON
import ToolHostServer

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run many calls concurrently from JSON lines; print one result line per input line, in order.",
        discussion: """
            Each input line is {"tool": "<plugin>.<tool>", "arguments": {...}, "priority": n?, "timeoutMs": n?, \
            "maxResultBytes": n?}; a result over its budget (the line's, else --max-result-bytes, else the tool's) \
            is printed shaped to fit, with a "truncated" note (the CLI keeps no whole copy). \
            Each output line is {"line": n, "tool": ..., "ok": true, "result": ..., "cached": bool, \
            "durationMs": x} or {"line": n, "ok": false, "error": {"code": ..., "message": ...}}. A malformed \
            line gets an error line; the others still run. A summary goes to stderr, with a progress bar when \
            stderr is a terminal. Plugin output on file descriptor 1 goes to stderr, never between the result \
            lines. Exits 0 when every line succeeded, else 1.
            """)

    @OptionGroup var settings: SettingsOptions

    @Option(name: .long, help: "How many calls run at once (the host's limits still apply).")
    var concurrency: Int = 16

    @Option(name: .long, help: "The result budget of every line that gives none, in bytes (1024...1073741824).")
    var maxResultBytes: String?

    @Argument(help: "A file of JSON lines, or - for stdin.")
    var input: String

    @OptionGroup var agent: AgentOption

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    private enum Line: Sendable {
        case call(ToolCall)
        case malformed(String)
    }

    func run() async throws {
        let data = try readInput(input)
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        let trimmedCount = lines.last?.isEmpty == true ? lines.count - 1 : lines.count
        let budget: Int?
        do {
            budget = try maxResultBytes.map { text throws(ToolError) in
                try ToolCall.resultBudget(text: text, field: "--max-result-bytes")
            }
        } catch {
            printError("toolhost: \(error.message)")
            throw ExitCode(64)
        }
        let agentName = agent.name
        let parsed = lines.prefix(trimmedCount).map { bytes -> Line in
            let line = Self.parse(bytes)
            guard case .call(var call) = line else { return line }
            call.agent = agentName
            return .call(call)
        }
        // A plugin's printf goes to stderr, not between the result lines.
        guard CommandOutput.divert() != nil else {
            printError("toolhost: batch: cannot keep stdout apart from plugin output (errno \(errno))")
            throw ExitCode(10)
        }
        let (toolHost, _) = try settings.makeHost("batch")
        defer { toolHost.shutdown() }
        let started = ContinuousClock.now
        let bar = ProgressBar.isShown ? BatchBar(total: parsed.count) : nil
        var ok = 0
        var failed = 0
        var cached = 0

        await withTaskGroup(of: (Int, JSONValue, Bool, Bool).self) { group in
            var pending: [Int: (JSONValue, Bool, Bool)] = [:]
            var nextToPrint = 0
            var nextToStart = 0
            func start(_ index: Int) {
                let line = parsed[index]
                group.addTask {
                    switch line {
                    case .malformed(let message):
                        let error = ToolError(.invalidArguments, message)
                        return (index, ToolResult.wireJSON(.failure(error), tool: nil, line: index + 1), false, false)
                    case .call(var call):
                        var outcome: Result<ToolResult, ToolError>
                        if let bar {
                            // What the call reports counts in the bar as a fraction of a line, until it is done.
                            let progress = CallProgress()
                            call.progress = progress
                            outcome = await progress.relay(
                                to: { bar.running(index, fraction: $0.fraction) },
                                while: { [call] in await toolHost.call(call) })
                            bar.running(index, fraction: nil)
                        } else {
                            outcome = await toolHost.call(call)
                        }
                        if case .success(var result) = outcome {
                            result.output =
                                result.budgeted(asked: call.maxResultBytes ?? budget, store: nil, owner: "").output
                            outcome = .success(result)
                        }
                        let line = ToolResult.wireJSON(outcome, call: call, line: index + 1)
                        if case .success(let result) = outcome { return (index, line, true, result.cached) }
                        return (index, line, false, false)
                    }
                }
            }
            while nextToStart < parsed.count && nextToStart < concurrency {
                start(nextToStart)
                nextToStart += 1
            }
            while let (index, line, success, wasCached) = await group.next() {
                pending[index] = (line, success, wasCached)
                if nextToStart < parsed.count {
                    start(nextToStart)
                    nextToStart += 1
                }
                while let (line, success, wasCached) = pending.removeValue(forKey: nextToPrint) {
                    CommandOutput.writeLine(line.serialized())
                    if success { ok += 1 } else { failed += 1 }
                    if wasCached { cached += 1 }
                    nextToPrint += 1
                    bar?.update(done: nextToPrint)
                }
            }
        }
        bar?.finish()
        // The results reach the L2 file (when enabled) before the process ends.
        await toolHost.closeCache()
        let wall = ContinuousClock.now - started
        let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        printError(
            "batch: \(parsed.count) lines, \(ok) ok, \(failed) errors, \(cached) cached, wall "
                + String(format: "%.3f s", seconds))
        if failed > 0 { throw ExitCode(1) }
    }

    private static func parse(_ bytes: [UInt8]) -> Line {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            return .malformed("the line is not valid JSON: \(error)")
        }
        do {
            return .call(try ToolCall(wire: value))
        } catch {
            return .malformed(error.message)
        }
    }
}

/// The batch's bar: lines printed, plus the fractions its calls in flight reported.
private final class BatchBar: Sendable {
    let total: Int
    private let bar = ProgressBar()
    private struct State {
        var done = 0
        var running: [Int: Double] = [:]
    }
    private let state = Mutex(State())

    init(total: Int) { self.total = total }

    func update(done: Int) {
        let running = state.withLock { state in
            state.done = done
            return state.running.values.reduce(0, +)
        }
        bar.show(done: done, of: total, running: running)
    }

    /// What line `index`'s call reported (nil: none, or it ended).
    func running(_ index: Int, fraction: Double?) {
        let (done, running) = state.withLock { state in
            state.running[index] = fraction
            return (state.done, state.running.values.reduce(0, +))
        }
        bar.show(done: done, of: total, running: running)
    }

    func finish() {
        bar.finish()
    }
}
