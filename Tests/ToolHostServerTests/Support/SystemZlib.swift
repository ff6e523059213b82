import ToolHostTesting

/// zlib as another program uses it (Python's `zlib`, a binding of the system library): an oracle for the server's
/// encodings that shares no code with them.
enum SystemZlib {
    /// The window bits that pick the format: gzip (RFC 1952) or zlib (RFC 1950, HTTP's `deflate`).
    enum Format: Int {
        case gzip = 31
        case zlib = 15
    }

    /// `bytes` compressed in `format` at the best level (a bomb is small).
    static func compress(_ bytes: [UInt8], _ format: Format) async throws -> [UInt8] {
        try await python(
            "c = zlib.compressobj(9, zlib.DEFLATED, \(format.rawValue)); "
                + "sys.stdout.buffer.write(c.compress(sys.stdin.buffer.read()) + c.flush())", input: bytes)
    }

    /// `bytes` decompressed, read strictly as `format`.
    /// - Throws: when they are not exactly one stream of that format.
    static func decompress(_ bytes: [UInt8], _ format: Format) async throws -> [UInt8] {
        try await python(
            "d = zlib.decompressobj(\(format.rawValue)); out = d.decompress(sys.stdin.buffer.read()); "
                + "assert d.eof and not d.unused_data, 'not one whole stream'; sys.stdout.buffer.write(out)",
            input: bytes)
    }

    private static func python(_ program: String, input: [UInt8]) async throws -> [UInt8] {
        try await run("/usr/bin/env", ["python3", "-c", "import sys, zlib; " + program], input: input)
    }

    /// Runs a program with `input` on its stdin.
    /// - Returns: its stdout.
    /// - Throws: when it exits non-zero.
    static func run(_ executable: String, _ arguments: [String], input: [UInt8] = []) async throws -> [UInt8] {
        let result = try await Fixtures.runBytes(executable, arguments, input: input)
        guard result.status == 0 else {
            throw ServerFixtureError("\(arguments.first ?? executable) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }
}
