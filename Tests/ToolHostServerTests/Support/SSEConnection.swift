import Foundation
import Glibc
import Synchronization
import ToolHostJSON

/// One raw HTTP/1.1 request on a socket of its own whose response is read as it arrives, on a thread of its
/// own: for SSE responses, which URLSession on Linux only returns once they end.
final class SSEConnection: Sendable {
    private struct State {
        var received: [UInt8] = []
        var closed = false
    }
    /// Shared with the reading thread, which must not keep the connection itself alive.
    private final class Box: Sendable {
        let state = Mutex(State())
    }
    private let socket: Int32
    private let box = Box()

    /// Calls `body` (bind, connect) with the IPv4 socket address `ip`:`port` and its length.
    private static func withIPv4(
        _ ip: String, port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32
    ) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(ip)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Connects to 127.0.0.1:`port` and sends the request, exactly as given (no header is added but `Host`, which
    /// is `host` or `127.0.0.1:port`, and `Content-Length`).
    /// - Parameter source: the local address to connect from (another loopback address, `127.0.0.2`, is another
    ///   client to the server); nil: the system's choice.
    convenience init(
        port: Int, method: String, path: String, headers: [String: String], body: [UInt8] = [], host: String? = nil,
        from source: String? = nil
    ) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        try self.init(port: port, sending: Array(head.utf8) + body, from: source)
    }

    /// Connects to 127.0.0.1:`port` (from `source`, when given) and sends `bytes` (none: a connection that says
    /// nothing; part of a request: one that never finishes it).
    init(port: Int, sending request: [UInt8], from source: String? = nil) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.socket = socket
        guard socket >= 0 else { throw ServerFixtureError("socket: errno \(errno)") }
        if let source, Self.withIPv4(source, port: 0, { bind(socket, $0, $1) }) != 0 {
            close(socket)
            throw ServerFixtureError("bind to \(source): errno \(errno)")
        }
        guard Self.withIPv4("127.0.0.1", port: port, { connect(socket, $0, $1) }) == 0 else {
            close(socket)
            throw ServerFixtureError("connect to port \(port): errno \(errno)")
        }
        let sent = request.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else {
            close(socket)
            throw ServerFixtureError("send: errno \(errno)")
        }
        Thread.detachNewThread { [box] in
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                box.state.withLock { $0.received.append(contentsOf: buffer[0..<count]) }
            }
            box.state.withLock { $0.closed = true }
        }
    }

    deinit { close(socket) }

    /// Everything received so far, as text.
    var text: String { String(decoding: box.state.withLock { $0.received }, as: UTF8.self) }
    /// Whether the server ended the response (closed the connection or finished the chunked body).
    var ended: Bool {
        box.state.withLock { $0.closed } || text.contains("\r\n0\r\n\r\n")
    }

    /// Whether the server closed the connection (or reset it).
    var isClosed: Bool { box.state.withLock { $0.closed } }

    /// Sends more bytes on the connection.
    /// - Throws: when the server has closed it.
    func send(_ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw ServerFixtureError("send: errno \(errno)") }
    }

    /// The status code, once the head has arrived.
    var status: Int? {
        let text = self.text
        guard text.hasPrefix("HTTP/1.1 "), text.count >= 12 else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    /// A response header (case-insensitive name), once the head has arrived.
    func header(_ name: String) -> String? {
        let text = self.text
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        for line in text[..<end.lowerBound].split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The JSON of every complete SSE `data:` line received so far (chunk framing is skipped: a data line is
    /// never split across chunks, the server writes each event whole).
    var events: [JSONValue] {
        text.split(separator: "\n").compactMap { line -> JSONValue? in
            guard line.hasPrefix("data: ") else { return nil }
            return try? JSONValue.parse(String(line.dropFirst(6)).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Waits (bounded poll) until `condition` holds.
    func wait(
        for what: String, within seconds: Double = 60, _ condition: (SSEConnection) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition(self) {
            guard ContinuousClock.now < deadline else {
                throw ServerFixtureError("timed out waiting for \(what); received: \(text)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The body of a complete response with `Content-Length` (nil until all of it has arrived).
    var body: [UInt8]? {
        let received = box.state.withLock { $0.received }
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, received.count - 3)).first(where: { Array(received[$0..<$0 + 4]) == separator }),
            let length = header("Content-Length").flatMap({ Int($0) }), received.count >= end + 4 + length
        else { return nil }
        return Array(received[(end + 4)..<(end + 4 + length)])
    }

    /// Closes the connection from this side.
    func cancel() {
        shutdown(socket, Int32(SHUT_RDWR))
    }
}
