import Foundation
import ToolHostJSON

/// Reads a running daemon's JSON endpoints (`toolhost insights`, `toolhost top`): HTTP/1.1 `GET` over a plain socket,
/// one connection per request, with the bearer token when one is given.
///
/// Blocking: the commands that use it are synchronous and call it from the main thread, never from the cooperative
/// pool. Answers are bounded (``maxResponseBytes``), and every wait is bounded by ``timeout``.
struct DaemonClient {
    /// A request that failed: the message says what happened and what to do.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The largest answer read.
    static let maxResponseBytes = 16 << 20

    let host: String
    let port: Int
    /// The URL's path, without a trailing slash ("" for none): a daemon behind a path prefix.
    let prefix: String
    let token: String?
    let timeout: Duration

    /// - Parameters:
    ///   - url: `http://HOST[:PORT][/PREFIX]` (`https` is not supported: put a TLS proxy's plain side here).
    ///   - tokenFile: a file holding the bearer token, if the daemon wants one.
    ///   - timeout: the longest wait for a connection and for each read.
    /// - Throws: `Failure` naming what is wrong with the URL or the token file.
    init(url: String, tokenFile: String?, timeout: Duration = .seconds(10)) throws(Failure) {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased() else {
            throw Failure("--url '\(url)' is not a URL; give the daemon's address, e.g. http://127.0.0.1:8080")
        }
        guard scheme == "http" else {
            throw Failure(
                "--url '\(url)': only http:// is supported (for a daemon behind TLS, use the proxy's plain side)")
        }
        guard let host = parts.host, !host.isEmpty else {
            throw Failure("--url '\(url)' names no host; e.g. http://127.0.0.1:8080")
        }
        self.host = host
        self.port = parts.port ?? 80
        var path = parts.path
        while path.hasSuffix("/") { path.removeLast() }
        self.prefix = path
        self.timeout = timeout
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw Failure("cannot read the token file '\(tokenFile)'")
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw Failure("the token file '\(tokenFile)' is empty") }
            self.token = token
        } else {
            self.token = nil
        }
    }

    /// `http://host:port/prefix`, for messages.
    var base: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(prefix)" }

    /// GETs a JSON endpoint.
    /// - Parameter path: starting with `/` (`/v1/insights?limit=5`).
    /// - Returns: the parsed body of a 200 answer.
    /// - Throws: `Failure` for a connection that fails, a status other than 200 (with the daemon's own error message),
    ///   or a body that is not JSON.
    func getJSON(_ path: String) throws(Failure) -> JSONValue {
        let (status, body) = try get(path)
        let value = try? JSONValue.parse(body)
        guard status == 200 else {
            let reason =
                value?["error"]?["message"]?.stringValue
                ?? String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let hint =
                switch status {
                case 401: " (pass the daemon's token with --token-file)"
                case 404: " (is this a toolhost daemon, and new enough to serve \(path.split(separator: "?")[0])?)"
                default: ""
                }
            throw Failure("\(base)\(path) answered \(status): \(reason)\(hint)")
        }
        guard let value else { throw Failure("\(base)\(path) answered with something that is not JSON") }
        return value
    }

    /// One GET request.
    /// - Returns: the status code and the body.
    func get(_ path: String) throws(Failure) -> (status: Int, body: [UInt8]) {
        let socket = try connect()
        defer { close(socket) }
        var request = "GET \(prefix)\(path) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        request += "Accept: application/json\r\nConnection: close\r\nUser-Agent: toolhost\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "\r\n"
        var bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Failure("sending to \(base) failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
        bytes = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                let reason = errno == EAGAIN ? "no answer within \(timeout)" : String(cString: strerror(errno))
                throw Failure("reading from \(base) failed: \(reason)")
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[..<count])
            guard bytes.count <= Self.maxResponseBytes else {
                throw Failure("\(base)\(path) answered more than \(Self.maxResponseBytes) bytes")
            }
        }
        return try Self.parse(bytes, from: base + path)
    }

    /// Splits an HTTP/1.1 response read to its end into the status and the body (by `Content-Length`, chunked
    /// transfer coding, or the end of the connection).
    static func parse(_ bytes: [UInt8], from source: String) throws(Failure) -> (status: Int, body: [UInt8]) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else {
            throw Failure("\(source): the answer is not HTTP (no end of headers)")
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = head.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw Failure("\(source): the answer is not HTTP/1.1 ('\(head.first?.prefix(60) ?? "")')")
        }
        var length: Int?
        var chunked = false
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { length = Int(value) }
            if name == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
        }
        var body = Array(bytes[(end + 4)...])
        if chunked {
            body = try dechunk(body, from: source)
        } else if let length {
            guard body.count >= length else {
                throw Failure("\(source): the answer ended after \(body.count) of \(length) bytes")
            }
            body = Array(body.prefix(length))
        }
        return (status, body)
    }

    private static func dechunk(_ bytes: [UInt8], from source: String) throws(Failure) -> [UInt8] {
        var body: [UInt8] = []
        var index = 0
        while true {
            guard
                let lineEnd = (index..<max(index, bytes.count - 1)).first(where: {
                    bytes[$0] == 13 && bytes[$0 + 1] == 10
                })
            else { throw Failure("\(source): a chunked answer ended early") }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";")[0]
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw Failure("\(source): a chunked answer has a bad chunk size")
            }
            if size == 0 { return body }
            let start = lineEnd + 2
            guard start + size <= bytes.count else { throw Failure("\(source): a chunked answer ended early") }
            body.append(contentsOf: bytes[start..<(start + size)])
            index = start + size + 2
        }
    }

    /// A connected socket, with `timeout` on every read and write.
    private func connect() throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw Failure("cannot resolve '\(host)': \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        let (seconds, attoseconds) = timeout.components
        var wait = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        var reason = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let socket = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, 0)
            guard socket >= 0 else { continue }
            // On Linux the send timeout bounds connect() too.
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return socket }
            reason =
                errno == EINPROGRESS || errno == EAGAIN
                ? "no answer within \(timeout)" : String(cString: strerror(errno))
            close(socket)
        }
        throw Failure("cannot connect to \(base): \(reason) (is `toolhost serve` running there?)")
    }
}
