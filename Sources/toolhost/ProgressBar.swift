import Foundation
import Synchronization
import ToolHost

/// A one-line progress bar on stderr, redrawn in place (`\r`, cleared to the end of the line): `toolhost call`
/// draws a call's progress, `toolhost batch` its lines done plus the fraction its running calls reported. Drawn
/// only when stderr is a terminal; safe to update from several tasks.
final class ProgressBar: Sendable {
    /// Whether stderr is a terminal (else no bar is drawn at all).
    static var isShown: Bool { isatty(STDERR_FILENO) == 1 }

    private struct State {
        var drawn = false
        var lastLine = ""
    }
    private let state = Mutex(State())
    private static let width = 30

    init() {}

    /// Draws a call's progress: the bar and percentage when the total is known, else the count; then the message.
    func show(_ report: ProgressReport) {
        var line: String
        if let fraction = report.fraction {
            line =
                Self.bar(fraction) + String(format: " %3d%% ", Int(fraction * 100)) + Self.number(report.done) + "/"
                + Self.number(report.total ?? 0)
        } else {
            line = "[" + String(repeating: " ", count: Self.width) + "] " + Self.number(report.done)
        }
        if let message = report.message, !message.isEmpty { line += " " + message }
        draw(line)
    }

    /// Draws a batch's progress: `done` whole lines of `total`, plus `running`, the fractions its calls in flight
    /// reported (each in 0...1), in the bar.
    func show(done: Int, of total: Int, running: Double = 0) {
        let fraction = total == 0 ? 1 : min(1, (Double(done) + running) / Double(total))
        draw(Self.bar(fraction) + " \(done)/\(total)")
    }

    /// Clears the bar (before the result is printed, or an error).
    func clear() {
        let drawn = state.withLock { state in
            defer { state.drawn = false }
            return state.drawn
        }
        if drawn { Self.write("\r\u{1B}[K") }
    }

    /// Ends the bar's line, leaving it shown.
    func finish() {
        let drawn = state.withLock { state in
            defer { state.drawn = false }
            return state.drawn
        }
        if drawn { Self.write("\n") }
    }

    private func draw(_ line: String) {
        let columns = Self.columns
        let shown = line.count < columns ? line : String(line.prefix(max(0, columns - 1)))
        let changed = state.withLock { state -> Bool in
            guard shown != state.lastLine || !state.drawn else { return false }
            state.lastLine = shown
            state.drawn = true
            return true
        }
        if changed { Self.write("\r" + shown + "\u{1B}[K") }
    }

    private static func bar(_ fraction: Double) -> String {
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    private static func number(_ value: Double) -> String {
        value.rounded(.towardZero) == value && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.1f", value)
    }

    /// The terminal's width on stderr (80 when it does not say).
    private static var columns: Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
