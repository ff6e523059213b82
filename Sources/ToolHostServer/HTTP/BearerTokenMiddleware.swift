import Hummingbird

/// Refuses every request but `GET /healthz` and the status page's assets (``StatusPage``) unless it carries `Authorization: Bearer <token>` with one of the
/// accepted tokens (``AccessTokens``); the scheme is matched in any case and the token is compared in constant time.
/// The request is then handled with the token it carried as ``CallerIdentity/token``, so the routes know who calls.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: AccessTokens

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // The status page's assets hold no data (its script reads the data with the token).
        if request.uri.path == "/healthz"
            || (request.method == .get || request.method == .head)
                && StatusPage.isAsset(request.uri.path)
        {
            return try await next(request, context)
        }
        guard let token = tokens.match(authorization: request.headers[.authorization] ?? "") else {
            var response = RESTServer.failure(.unauthorized, code: "unauthorized", "a valid bearer token is required")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await CallerIdentity.$token.withValue(token) { try await next(request, context) }
    }
}
