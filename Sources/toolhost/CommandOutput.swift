import Foundation
import Synchronization

/// The command's own stdout, kept apart from file descriptor 1 once plugins may run.
///
/// Plugin code writes to fd 1 as careless C does (`printf`, `puts`), and those bytes would land in the middle of
/// what `call`, `batch` and `mcp` print for a program to parse. `divert()` keeps a private, close-on-exec copy of
/// stdout for the command and points fd 1 at stderr, so a plugin's output goes where logs go.
enum CommandOutput {
    /// Where `writeLine` writes: 1 until `divert()`, then the private copy.
    private static let descriptor = Atomic<Int32>(1)

    /// Moves the command's stdout to a private descriptor and points fd 1 at stderr. Call it before any plugin
    /// is loaded.
    /// - Returns: the private descriptor (it stays open for the life of the process), or nil with `errno` set.
    static func divert() -> Int32? {
        fflush(nil)  // anything stdio buffered for the real stdout goes there first
        let output = dup(1)
        guard output >= 0 else { return nil }
        guard fcntl(output, F_SETFD, FD_CLOEXEC) == 0, dup2(2, 1) >= 0 else {
            close(output)
            return nil
        }
        descriptor.store(output, ordering: .relaxed)
        return output
    }

    /// Whether the command's stdout is a terminal.
    static var isTerminal: Bool { isatty(descriptor.load(ordering: .relaxed)) != 0 }

    /// Writes bytes and a newline to the command's stdout.
    static func writeLine(_ bytes: [UInt8]) {
        var line = bytes
        line.append(0x0A)
        FileHandle(fileDescriptor: descriptor.load(ordering: .relaxed), closeOnDealloc: false).write(Data(line))
    }
}
