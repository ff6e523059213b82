import Hummingbird

/// Refuses every request but `GET /healthz` unless it carries `Authorization: Bearer <token>`; the scheme is
/// matched in any case (`bearer`, `BEARER`: RFC 7235 §2.1) and the token is compared in constant time.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    init(token: String) {
        self.token = Array(token.utf8)
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        guard let given = Self.bearerCredentials(request.headers[.authorization] ?? ""),
            Self.equalInConstantTime(given, token)
        else {
            var response = RESTServer.failure(.unauthorized, code: "unauthorized", "a valid bearer token is required")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

    /// The credentials of an `Authorization` value whose scheme is `Bearer` in any case, after one or more spaces.
    /// - Returns: the token's bytes, or nil when the scheme is another or no token follows it.
    static func bearerCredentials(_ header: String) -> [UInt8]? {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count, bytes[scheme.count] == 0x20,
            zip(bytes, scheme).allSatisfy({ given, wanted in given | 0x20 == wanted })
        else { return nil }
        let credentials = bytes[scheme.count...].drop { $0 == 0x20 }
        return credentials.isEmpty ? nil : Array(credentials)
    }

    /// Compares every byte whatever the first difference, so the time says nothing about the token.
    static func equalInConstantTime(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        if lhs.count != rhs.count { difference |= 1 }
        for index in 0..<rhs.count {
            difference |= (index < lhs.count ? lhs[index] : 0) ^ rhs[index]
        }
        return difference == 0
    }
}
