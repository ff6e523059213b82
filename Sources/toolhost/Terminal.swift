import Foundation

/// The terminal `toolhost top` draws on: the alternate screen, keys read one at a time without echo, its size, and
/// SIGINT, SIGTERM and SIGWINCH turned into bytes on a pipe (the self-pipe trick), so the one loop that waits for a
/// key or the next refresh also sees them, and the terminal is always restored by that loop rather than inside a
/// signal handler.
final class Terminal {
    /// What woke the loop.
    enum Event: Equatable {
        case key(UInt8)
        case interrupted
        case resized
        case timeout
    }

    private var saved = termios()
    private var active = false

    /// Whether stdout is a terminal (else `top` prints one snapshot).
    static var isInteractive: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Switches to the alternate screen, hides the cursor, reads keys without echo, and routes the signals to the
    /// pipe. ``restore()`` undoes all of it.
    func enter() {
        if isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, &saved) == 0 {
            var raw = saved
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
            withUnsafeMutableBytes(of: &raw.c_cc) { cc in
                cc[Int(VMIN)] = 0
                cc[Int(VTIME)] = 0
            }
            if tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0 { active = true }
        }
        Self.installSignals()
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J")
    }

    /// Leaves the alternate screen and gives the terminal back as it was.
    func restore() {
        write("\u{1B}[?25h\u{1B}[?1049l")
        if active { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        active = false
    }

    /// Draws the lines from the top left, each cleared to its end, and clears what is below them.
    func draw(_ lines: [String]) {
        var screen = "\u{1B}[H"
        for line in lines { screen += line + "\u{1B}[K\r\n" }
        screen += "\u{1B}[J"
        write(screen)
    }

    /// Columns and rows (80 × 24 when the terminal does not say).
    var size: (columns: Int, rows: Int) {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else {
            return (80, 24)
        }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    /// Waits for a key, a signal or `timeout`.
    func next(within timeout: Duration) -> Event {
        var fds = [
            pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
            pollfd(fd: Self.signalPipe.read, events: Int16(POLLIN), revents: 0),
        ]
        let (seconds, attoseconds) = timeout.components
        let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        // No key reading when stdin is not a terminal (a closed or redirected stdin would wake poll at once).
        let watched = active ? 2 : 1
        let ready = fds.withUnsafeMutableBufferPointer { buffer in
            watched == 2 ? poll(buffer.baseAddress, 2, milliseconds) : poll(buffer.baseAddress! + 1, 1, milliseconds)
        }
        guard ready > 0 else { return .timeout }
        if fds[1].revents & Int16(POLLIN) != 0 {
            var byte: UInt8 = 0
            _ = Glibc.read(Self.signalPipe.read, &byte, 1)
            return byte == UInt8(SIGWINCH) ? .resized : .interrupted
        }
        var byte: UInt8 = 0
        return Glibc.read(STDIN_FILENO, &byte, 1) == 1 ? .key(byte) : .timeout
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeMutableBytes {
                Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            written += count
        }
        bytes.removeAll()
    }

    /// The self-pipe: the handlers write the signal's number, the loop reads it.
    nonisolated(unsafe) private static var signalPipe: (read: Int32, write: Int32) = (-1, -1)

    private static func installSignals() {
        guard signalPipe.read < 0 else { return }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        signalPipe = (ends[0], ends[1])
        for number in [SIGINT, SIGTERM, SIGWINCH] {
            signal(number) { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = Glibc.write(Terminal.signalPipe.write, &byte, 1)
            }
        }
    }
}
