import Foundation

/// zlib as another program uses it (Python's `zlib`, a binding of the system library): an oracle for the server's
/// encodings that shares no code with them.
enum SystemZlib {
    /// The window bits that pick the format: gzip (RFC 1952) or zlib (RFC 1950, HTTP's `deflate`).
    enum Format: Int {
        case gzip = 31
        case zlib = 15
    }

    /// `bytes` compressed in `format` at the best level (a bomb is small).
    static func compress(_ bytes: [UInt8], _ format: Format) throws -> [UInt8] {
        try python(
            "c = zlib.compressobj(9, zlib.DEFLATED, \(format.rawValue)); "
                + "sys.stdout.buffer.write(c.compress(sys.stdin.buffer.read()) + c.flush())", input: bytes)
    }

    /// `bytes` decompressed, read strictly as `format`.
    /// - Throws: when they are not exactly one stream of that format.
    static func decompress(_ bytes: [UInt8], _ format: Format) throws -> [UInt8] {
        try python(
            "d = zlib.decompressobj(\(format.rawValue)); out = d.decompress(sys.stdin.buffer.read()); "
                + "assert d.eof and not d.unused_data, 'not one whole stream'; sys.stdout.buffer.write(out)",
            input: bytes)
    }

    private static func python(_ program: String, input: [UInt8]) throws -> [UInt8] {
        try run("/usr/bin/env", ["python3", "-c", "import sys, zlib; " + program], input: input)
    }

    /// Runs a program with `input` on its stdin.
    /// - Returns: its stdout.
    /// - Throws: when it exits non-zero.
    static func run(_ executable: String, _ arguments: [String], input: [UInt8] = []) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let writer = Thread {
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errors = ErrorText()
        Thread.detachNewThread { errors.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ServerFixtureError(
                "\(arguments.first ?? executable) exited \(process.terminationStatus): \(errors.text)")
        }
        return Array(output)
    }

    private final class ErrorText: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.withLock { data = value } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }
}
