import ArgumentParser
import ToolHostJSON

/// The daemon options of the commands that read a running daemon (`insights`, `top`).
struct DaemonURLOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's address (default http://127.0.0.1:8080).", valueName: "url"))
    var url = "http://127.0.0.1:8080"

    @Option(name: .long, help: ArgumentHelp("A file holding the daemon's bearer token.", valueName: "file"))
    var tokenFile: String?

    @Option(name: .long, help: "The most entries in each list, 1...1000 (default 10).")
    var limit: Int = 10

    /// The client, or exit 64 with the reason.
    func client(_ command: String) throws -> DaemonClient {
        guard (1...1000).contains(limit) else {
            printError("toolhost: \(command): --limit must be in 1...1000, not \(limit)")
            throw ExitCode(64)
        }
        do {
            return try DaemonClient(url: url, tokenFile: tokenFile)
        } catch {
            printError("toolhost: \(command): \(error)")
            throw ExitCode(64)
        }
    }
}

struct InsightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "insights",
        abstract: "Show what a running daemon is doing: slowest and busiest tools, errors, cache and memory.",
        discussion: """
            Reads GET /v1/insights of a `toolhost serve` daemon once and prints it (--json: the answer as it came). \
            Exit 0 on success, 1 when the daemon cannot be reached or refuses, 64 for a bad command line.
            """)

    @OptionGroup var daemon: DaemonURLOptions

    @Flag(name: .long, help: "Print the daemon's JSON answer instead of the report.")
    var json = false

    func run() throws {
        let client = try daemon.client("insights")
        let insights: JSONValue
        do {
            insights = try client.getJSON("/v1/insights?limit=\(daemon.limit)")
        } catch {
            printError("toolhost: insights: \(error)")
            throw ExitCode(1)
        }
        if json {
            print(insights.prettyPrinted())
        } else {
            for line in InsightsText.lines(insights, source: client.base, width: 200) { print(line) }
        }
    }
}
