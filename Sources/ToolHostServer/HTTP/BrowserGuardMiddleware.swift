import Hummingbird

/// Keeps web pages from using the daemon through a browser, on every endpoint (`/v1`, `/mcp`, `/metrics`,
/// `/healthz`):
///
/// - **Origin.** Without a bearer token, a request that carries an `Origin` must come from a loopback origin
///   (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`); any other page gets 403. With a token, the token is the
///   guard: a page cannot read it, and a browser adds no `Authorization` header on its own.
/// - **Host (DNS rebinding).** Without a token on a loopback address, the `Host` header must name a loopback host:
///   a page at `evil.example` whose name was rebound to 127.0.0.1 sends `Host: evil.example` and gets 421.
/// - **Content-Type.** Every `POST` must be `application/json`: a cross-origin `text/plain` or form post is a
///   "simple" request that a browser sends without asking (no CORS preflight), so refusing it here means no page
///   can run a tool that way, whatever the token setting. Anything else is 415.
struct BrowserGuardMiddleware: RouterMiddleware {
    typealias Context = ToolHostRequestContext

    /// Whether `Origin` must be loopback (no token).
    let loopbackOrigins: Bool
    /// Whether `Host` must be loopback (no token, listening on loopback).
    let loopbackHosts: Bool

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if loopbackOrigins, let origin = request.headers[.origin], !Self.isLoopbackOrigin(origin) {
            return RESTServer.failure(
                .forbidden, code: "forbidden",
                "origin \(origin) is not allowed: without a bearer token only pages on loopback origins (localhost, "
                    + "127.0.0.1, [::1]) may call this server; configure a token file to serve other clients")
        }
        if loopbackHosts, let authority = request.head.authority, !Self.isLoopbackOrigin("http://" + authority) {
            return RESTServer.failure(
                .misdirectedRequest, code: "forbidden",
                "Host \(authority) is not this server: without a bearer token it answers only to localhost, "
                    + "127.0.0.1 and [::1] (a page whose name was rebound to this address is refused)")
        }
        if request.method == .post, !Self.isJSONMediaType(request.headers[.contentType] ?? "") {
            let given = request.headers[.contentType].map { "Content-Type \($0)" } ?? "no Content-Type"
            return RESTServer.failure(
                .unsupportedMediaType, code: "invalid_arguments",
                "a POST body must be sent as Content-Type: application/json (\(given) was sent)")
        }
        return try await next(request, context)
    }

    /// Whether a `Content-Type` is `application/json` (any case, parameters such as `charset` allowed).
    static func isJSONMediaType(_ contentType: String) -> Bool {
        let wanted = "application/json".utf8
        var value = contentType.utf8.drop { $0 == 0x20 }
        for byte in wanted {
            guard let first = value.first, first | 0x20 == byte else { return false }
            value = value.dropFirst()
        }
        guard let next = value.first else { return true }
        return next == UInt8(ascii: ";") || next == 0x20
    }

    /// Whether an address to listen on (a name or an IP address, without brackets) is loopback.
    static func isLoopbackHost(_ host: String) -> Bool {
        isLoopbackOrigin("http://" + (host.contains(":") ? "[\(host)]" : host))
    }

    /// Whether an `Origin` (or `http://` and a `Host` value) names a loopback host: `localhost` (or a `*.localhost`
    /// name), `127.0.0.0/8`, `[::1]`. `null` (an opaque origin) is not.
    static func isLoopbackOrigin(_ origin: String) -> Bool {
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let authority = origin[schemeEnd.upperBound...].prefix { $0 != "/" }
        let host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[...close]
        } else {
            host = authority.prefix { $0 != ":" }
        }
        let name = host.lowercased()
        if name == "localhost" || name.hasSuffix(".localhost") || name == "[::1]" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
