import ArgumentParser
import Foundation
import ToolHostJSON

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract:
            "A live view of a running daemon: calls per second, in flight and queued, slow and busy tools, errors.",
        discussion: """
            Reads GET /v1/insights of a `toolhost serve` daemon every --interval seconds and redraws in place on the \
            terminal's alternate screen; q, Ctrl-C or SIGTERM quit and give the terminal back as it was. When stdout \
            is not a terminal it prints one snapshot and exits (1 when the daemon cannot be read). While the daemon \
            cannot be read, the view says why and keeps trying.
            """)

    @OptionGroup var daemon: DaemonURLOptions

    @Option(name: .long, help: "Seconds between refreshes, 0.1...3600 (default 1).")
    var interval: Double = 1

    func run() throws {
        let client = try daemon.client("top")
        guard interval >= 0.1, interval <= 3600 else {
            printError("toolhost: top: --interval must be in 0.1...3600 seconds, not \(interval)")
            throw ExitCode(64)
        }
        let path = "/v1/insights?limit=\(daemon.limit)"
        guard Terminal.isInteractive else {
            do {
                let insights = try client.getJSON(path)
                for line in InsightsText.lines(insights, source: client.base, width: 200) { print(line) }
            } catch {
                printError("toolhost: top: \(error)")
                throw ExitCode(1)
            }
            return
        }
        let terminal = Terminal()
        terminal.enter()
        defer { terminal.restore() }
        let wait = Duration.milliseconds(Int64((interval * 1000).rounded()))
        var last: JSONValue?
        while true {
            let (columns, rows) = terminal.size
            var status: String
            do {
                last = try client.getJSON(path)
                status = "updated \(Self.clock())"
            } catch {
                status = "cannot read the daemon (\(Self.clock())): \(error)"
            }
            var lines = [
                InsightsText.cut(
                    "toolhost top: every \(InsightsText.rate(interval))s, q to quit; \(status)", to: columns)
            ]
            if let last { lines += InsightsText.lines(last, source: client.base, width: columns) }
            terminal.draw(Array(lines.prefix(max(1, rows - 1))))
            switch terminal.next(within: wait) {
            case .key(let key) where key == UInt8(ascii: "q") || key == UInt8(ascii: "Q") || key == 3: return
            case .interrupted: return
            default: continue
            }
        }
    }

    private static func clock() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: Date())
    }
}
