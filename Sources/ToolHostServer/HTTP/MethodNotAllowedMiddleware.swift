import Hummingbird

/// Answers a request that no route took: 405 with an `Allow` header when its path is served with other methods
/// (RFC 9110 §15.5.6), else 404, both as `{"error": …}` like every other refusal.
///
/// Added to the router after every route, so Hummingbird applies it only to the requests no route matched (its
/// not-found responder is wrapped in every middleware; a route only in those added before it). It runs after the
/// browser guard and the token check, so a caller without the token learns nothing about the routes.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Every route served: its path pattern and its methods (`HEAD` wherever `GET` is).
    let routes: [(path: RouterPath, methods: [HTTPRequest.Method])]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let allowed = Self.methods(for: request.uri.path, in: routes)
        if !allowed.isEmpty, !allowed.contains(request.method) {
            var response = RESTServer.failure(
                .methodNotAllowed, code: "method_not_allowed",
                "\(request.method.rawValue) is not served on \(request.uri.path); use "
                    + allowed.map(\.rawValue).joined(separator: ", "))
            response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            return response
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return RESTServer.failure(
                .notFound, code: "not_found", "no endpoint \(request.uri.path): see /v1/tools, /v1/plugins, /mcp")
        }
    }

    /// The methods served on `path`, in the order the routes were added, without repeats.
    static func methods(
        for path: String, in routes: [(path: RouterPath, methods: [HTTPRequest.Method])]
    ) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        var allowed: [HTTPRequest.Method] = []
        for route in routes where route.path.components.count == segments.count {
            guard zip(route.path.components, segments).allSatisfy({ element, segment in element ~= segment })
            else { continue }
            for method in route.methods where !allowed.contains(method) { allowed.append(method) }
        }
        return allowed
    }
}
