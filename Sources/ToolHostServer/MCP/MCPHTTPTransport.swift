import Hummingbird
import Logging
import ServiceLifecycle
import ToolHost
import ToolHostJSON

/// MCP's Streamable HTTP transport (protocol versions 2025-06-18 and 2025-03-26) at one endpoint, over the
/// transport-independent ``MCPDispatcher`` (one per session).
///
/// - `POST` carries one JSON-RPC message (or, when the session speaks 2025-03-26, a batch array). `initialize`
///   creates a session and returns its id in `Mcp-Session-Id`; every other request must carry that id (missing:
///   400, unknown or expired: 404). Input with no request in it (notifications, responses) is answered 202.
///   Requests are answered with `application/json` when the client's `Accept` ranks JSON at least as high as
///   `text/event-stream` (every spec-conforming client lists both, so this is the usual answer), otherwise with
///   an SSE stream that carries each response as its call completes, then ends. A `tools/call` with
///   `params._meta.progressToken` is answered with the stream whenever SSE is acceptable at all: its
///   `notifications/progress` go on it, before its response.
/// - `GET` opens an SSE stream for server-to-client messages (`notifications/tools/list_changed`); a message goes
///   to the session's newest open stream only. A comment every `heartbeatInterval` finds dead connections.
/// - `DELETE` ends the session: its calls are cancelled and its streams end.
/// - `MCP-Protocol-Version`, when sent, must be a version this server speaks (else 400); without it the
///   session's negotiated version applies.
/// - `Origin`, `Host` and `Content-Type` are checked for every endpoint of the server by `BrowserGuardMiddleware`
///   before a request gets here.
/// - A session belongs to the client that opened it (``MCPHTTPClient``: its named token's agent, else its address)
///   and the token it opened it with: a request from anyone else naming its id is answered 404, as for an unknown
///   id, and the session is left as it is.
/// - Sessions are bounded (``MCPHTTPSessionTable``): at most `maxSessionsPerClient` per client (a new one evicts
///   the client's own least recently used idle session; when all of them are busy `initialize` gets 429) and
///   `maxSessions` in all (expired sessions go first, then the least recently used idle session of the client
///   holding the most; when none may go, 503). A session with work in flight is never evicted, and a client's
///   `initialize` evicts another client's session only from a full table and a client holding at least as many.
///   A session idle (no request, call or open stream) for `idleTimeout` expires.
public struct MCPHTTPTransport: Sendable {
    /// Limits of the transport.
    public struct Configuration: Sendable {
        /// The endpoint path.
        public var path: String = "/mcp"
        /// The most sessions kept at once.
        public var maxSessions: Int = 1024
        /// The most sessions one client (``MCPHTTPClient``) keeps at once.
        public var maxSessionsPerClient: Int = 64
        /// How long an idle session lives.
        public var idleTimeout: Duration = .seconds(3600)
        /// How often an open `GET` stream carries a keep-alive comment.
        public var heartbeatInterval: Duration = .seconds(15)
        /// The largest request body accepted, in bytes.
        public var maxBodyBytes: Int = 1 << 20
        /// What tool results carry: text, structured content, or both.
        public var resultContent = MCPResultContent.both
        /// The clock sessions' idleness is measured by: the monotonic clock, or one a test moves on.
        package var now: @Sendable () -> ContinuousClock.Instant = { .now }

        /// A configuration with the defaults.
        public init() {}
    }

    private let host: ToolHost
    private let sessions: MCPHTTPSessionTable
    private let configuration: Configuration
    private let logger: Logger
    private let drainDeadline: DrainDeadline?
    private let results: ResultStore

    /// - Parameters:
    ///   - host: the pipeline every call goes through.
    ///   - configuration: limits.
    ///   - drainDeadline: when it passes, calls still running are cut and answered with an error saying the host is
    ///     shutting down, while their requests can still be answered.
    ///   - results: where whole results shaped to a budget are kept; each session reads only its own.
    ///   - logger: where session events are logged.
    public init(
        host: ToolHost, configuration: Configuration, drainDeadline: DrainDeadline? = nil,
        results: ResultStore = ResultStore(), logger: Logger
    ) {
        self.drainDeadline = drainDeadline
        self.results = results
        self.host = host
        self.sessions = MCPHTTPSessionTable(
            maxSessions: configuration.maxSessions, maxSessionsPerClient: configuration.maxSessionsPerClient,
            idleTimeout: configuration.idleTimeout, now: configuration.now)
        self.configuration = configuration
        self.logger = logger
    }

    /// Registers `POST`, `GET` and `DELETE` on the endpoint.
    /// - Parameter router: the server's router.
    /// - Returns: the endpoint's path and those methods.
    @discardableResult
    public func addRoutes<Context: RemoteAddressRequestContext>(
        to router: Router<Context>
    ) -> (path: RouterPath, methods: [HTTPRequest.Method]) {
        let path = RouterPath(configuration.path)
        router.post(path) { request, context in
            await post(
                request, client: MCPHTTPClient(token: CallerIdentity.token, remoteAddress: context.remoteAddress))
        }
        router.get(path) { request, context in
            get(request, client: MCPHTTPClient(token: CallerIdentity.token, remoteAddress: context.remoteAddress))
        }
        router.delete(path) { request, context in
            delete(request, client: MCPHTTPClient(token: CallerIdentity.token, remoteAddress: context.remoteAddress))
        }
        return (path, [.post, .get, .delete])
    }

    // MARK: POST

    private func post(_ request: Request, client: MCPHTTPClient) async -> Response {
        if let refused = checkProtocolVersion(request) { return refused }
        guard let form = Self.responseForm(accept: request.headers[values: .accept]) else {
            return Self.refusal(
                .notAcceptable, .invalidRequest, "Accept must allow application/json or text/event-stream")
        }
        let message: JSONValue
        switch await readBody(request) {
        case .success(let value): message = value
        case .failure(let refusal): return refusal.response
        }

        // initialize: a new session (never in a batch).
        if case .object(let object) = message, object["method"]?.stringValue == "initialize" {
            let caller: Caller
            do throws(ToolError) {
                caller = try Caller.of(request)
            } catch {
                return Self.refusal(
                    error.code == .forbidden ? .forbidden : .badRequest, .invalidRequest, error.message)
            }
            return initialize(message, form: form, caller: caller, client: client)
        }
        let session: MCPHTTPSession
        switch lookUp(request, client: client) {
        case .success(let found): session = found
        case .failure(let refusal): return refusal.response
        }

        let messages: [JSONValue]
        let isBatch: Bool
        if case .array(let items) = message {
            let version = request.headers[Self.protocolVersionHeader] ?? session.protocolVersion
            guard version < "2025-06-18" else {
                return Self.refusal(
                    .badRequest, .invalidRequest, "JSON-RPC batches are not part of MCP \(version); send one message")
            }
            guard !items.isEmpty else { return Self.refusal(.badRequest, .invalidRequest, "an empty batch") }
            if items.contains(where: { $0["method"]?.stringValue == "initialize" }) {
                return Self.refusal(.badRequest, .invalidRequest, "initialize must not be part of a batch")
            }
            messages = items.map { $0 }
            isBatch = true
        } else {
            messages = [message]
            isBatch = false
        }

        var replies: [JSONValue] = []
        var calls: [(id: JSONValue, call: ToolCall, progressToken: JSONValue?)] = []
        for message in messages {
            switch session.dispatcher.handle(message) {
            case .reply(let response): replies.append(response)
            case .none: break
            case .cancel(let requestID): session.cancel(requestID: requestID)
            case .call(let id, var call, let progressToken):
                // `params._meta.traceparent` first (the dispatcher read it), else the request's header.
                if call.traceContext == nil && host.isTracing {
                    call.traceContext = RESTServer.traceContext(request, host: host)
                }
                calls.append((id, call, progressToken))
            }
        }
        if replies.isEmpty && calls.isEmpty { return Response(status: .accepted) }

        var headers = HTTPFields()
        headers[Self.sessionHeader] = session.id
        // A call that asks for progress gets an SSE stream when the client takes one: the notifications can only
        // travel on the request's own stream, before its response.
        let streamed =
            form == .eventStream
            || (calls.contains { $0.progressToken != nil }
                && Self.quality(of: "text/event-stream", in: request.headers[values: .accept]) > 0)
        if streamed {
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let pending = calls
            let immediate = replies
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    for reply in immediate { try await writer.write(MCPHTTPSession.event(reply)) }
                    // Responses and notifications of every call, in the order they were made: a call's
                    // notifications come before its response. Bounded by the coalescing (a few a second per call).
                    let (events, sink) = AsyncStream.makeStream(of: ByteBuffer.self)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            await withTaskGroup(of: Void.self) { running in
                                for (id, call, progressToken) in pending {
                                    running.addTask {
                                        let response = await session.run(
                                            call, id: id, progressToken: progressToken,
                                            notify: { sink.yield(MCPHTTPSession.event($0)) })
                                        if let response { sink.yield(MCPHTTPSession.event(response)) }
                                    }
                                }
                            }
                            sink.finish()
                        }
                        for await event in events { try await writer.write(event) }
                    }
                    try await writer.finish(nil)
                })
        }

        headers[.contentType] = "application/json"
        if !isBatch {
            let response: JSONValue
            if let reply = replies.first {
                response = reply
            } else {
                let (id, call, _) = calls[0]
                response =
                    await session.run(call, id: id)
                    ?? MCPDispatcher.errorResponse(id: id, code: .requestCancelled, message: "Request cancelled")
            }
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: response.serialized())))
        }
        let results = await withTaskGroup(of: JSONValue?.self) { group in
            for (id, call, _) in calls { group.addTask { await session.run(call, id: id) } }
            var results: [JSONValue] = []
            for await response in group { if let response { results.append(response) } }
            return results
        }
        let all = JSONValue.array(replies + results)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: all.serialized())))
    }

    private func initialize(_ message: JSONValue, form: ResponseForm, caller: Caller, client: MCPHTTPClient) -> Response
    {
        let sessionID = MCPHTTPSession.makeID()
        let dispatcher = MCPDispatcher(
            host: host, results: results, owner: "mcp-session:" + sessionID,
            resultContent: configuration.resultContent, caller: caller)
        guard case .reply(let reply) = dispatcher.handle(message) else {
            return Self.refusal(.badRequest, .invalidRequest, "initialize must be a request (with an id)")
        }
        guard let version = reply["result"]?["protocolVersion"]?.stringValue else {
            // An error response (bad id): no session.
            return Self.json(.ok, reply, session: nil)
        }
        let session = MCPHTTPSession(
            id: sessionID, protocolVersion: version, dispatcher: dispatcher, caller: caller, client: client,
            drainDeadline: drainDeadline, now: configuration.now)
        let notification = MCPDispatcher.toolsListChanged
        session.hold(host.observeToolChanges { [weak session] in session?.notify(notification) })
        switch sessions.insert(session) {
        case .added: break
        case .clientFull:
            session.close()
            logger.debug(
                "mcp: session refused: the client's sessions are all busy",
                metadata: [
                    "mcp.client": "\(client)", "mcp.sessions.max_per_client": "\(configuration.maxSessionsPerClient)",
                ])
            return Self.refusal(
                .tooManyRequests, .internalError,
                "\(client) holds \(configuration.maxSessionsPerClient) MCP sessions (maxSessionsPerClient), all with "
                    + "work in flight: end one (DELETE) or retry when a call finishes")
        case .tableFull:
            session.close()
            return Self.refusal(
                .serviceUnavailable, .internalError,
                "all \(configuration.maxSessions) MCP sessions are taken and those that could make room have work "
                    + "in flight; retry when a call finishes")
        }
        logger.debug(
            "mcp: session started",
            metadata: [
                "mcp.session": "\(session.id)", "mcp.version": "\(version)", "agent": "\(dispatcher.agentName)",
                "mcp.client": "\(client)",
            ])
        if form == .eventStream {
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            headers[Self.sessionHeader] = session.id
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: MCPHTTPSession.event(reply)))
        }
        return Self.json(.ok, reply, session: session.id)
    }

    // MARK: GET and DELETE

    private func get(_ request: Request, client: MCPHTTPClient) -> Response {
        if let refused = checkProtocolVersion(request) { return refused }
        let accepts = request.headers[values: .accept]
        guard Self.quality(of: "text/event-stream", in: accepts) > 0 else {
            return Self.refusal(.notAcceptable, .invalidRequest, "GET opens an SSE stream: Accept text/event-stream")
        }
        let session: MCPHTTPSession
        switch lookUp(request, client: client) {
        case .success(let found): session = found
        case .failure(let refusal): return refusal.response
        }
        guard let (streamID, events) = session.openStream() else {
            return Self.refusal(.notFound, .sessionNotFound, "the session has ended; initialize a new one")
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[Self.sessionHeader] = session.id
        let heartbeat = configuration.heartbeatInterval
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                do {
                    try await withGracefulShutdownHandler {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                var comment = ByteBuffer()
                                comment.writeStaticString(": keep-alive\n\n")
                                while true {
                                    try await Task.sleep(for: heartbeat)
                                    session.write(comment, toStream: streamID)
                                }
                            }
                            // An opening comment sends the headers at once, so the client knows the stream is open.
                            var opening = ByteBuffer()
                            opening.writeStaticString(": stream open\n\n")
                            try await writer.write(opening)
                            for await event in events { try await writer.write(event) }
                            group.cancelAll()
                        }
                    } onGracefulShutdown: {
                        session.closeStream(streamID)
                    }
                } catch {
                    session.closeStream(streamID)
                    throw error
                }
                session.closeStream(streamID)
                try await writer.finish(nil)
            })
    }

    private func delete(_ request: Request, client: MCPHTTPClient) -> Response {
        if let refused = checkProtocolVersion(request) { return refused }
        guard let id = request.headers[Self.sessionHeader] else {
            return Self.refusal(.badRequest, .invalidRequest, "DELETE needs the Mcp-Session-Id header")
        }
        // Another client's session is not there for this one: the same 404 as an unknown id, and it goes on.
        guard sessions.remove(id, of: client, caller: Self.tokenCaller) else {
            return Self.refusal(.notFound, .sessionNotFound, "no session \(id) (it ended or expired)")
        }
        logger.debug("mcp: session ended by the client", metadata: ["mcp.session": "\(id)"])
        return Response(status: .noContent)
    }

    // MARK: checks

    private func lookUp(_ request: Request, client: MCPHTTPClient) -> Result<MCPHTTPSession, Refusal> {
        guard let id = request.headers[Self.sessionHeader] else {
            return .failure(
                Refusal(
                    Self.refusal(
                        .badRequest, .invalidRequest,
                        "the Mcp-Session-Id header is missing: send initialize first and use the id it returns")))
        }
        // A session belongs to the client and token that opened it: to any other it does not exist.
        guard let session = sessions.session(id, of: client, caller: Self.tokenCaller) else {
            return .failure(
                Refusal(
                    Self.refusal(
                        .notFound, .sessionNotFound, "no session \(id) (it ended or expired): initialize a new one")))
        }
        return .success(session)
    }

    /// The request's token as a caller, for matching a session's owner (the agent header plays no part).
    private static var tokenCaller: Caller {
        var caller = Caller()
        caller.token = CallerIdentity.token
        return caller
    }

    private func checkProtocolVersion(_ request: Request) -> Response? {
        guard let version = request.headers[Self.protocolVersionHeader] else { return nil }
        if MCPDispatcher.supportedProtocolVersions.contains(version) { return nil }
        return Self.refusal(
            .badRequest, .invalidRequest,
            "unsupported MCP-Protocol-Version \(version); supported: "
                + MCPDispatcher.supportedProtocolVersions.joined(separator: ", "))
    }

    private func readBody(_ request: Request) async -> Result<JSONValue, Refusal> {
        let limit = configuration.maxBodyBytes
        var body = ByteBuffer()
        do {
            for try await buffer in request.body {
                if body.readableBytes + buffer.readableBytes > limit {
                    return .failure(
                        Refusal(Self.refusal(.contentTooLarge, .invalidRequest, "the body is over \(limit) bytes")))
                }
                var buffer = buffer
                body.writeBuffer(&buffer)
            }
        } catch {
            return .failure(Refusal(Self.refusal(.badRequest, .invalidRequest, "reading the body failed: \(error)")))
        }
        let parsed = body.withUnsafeReadableBytes { raw in
            Result { () throws(JSONParseError) in try JSONValue.parse(raw) }
        }
        switch parsed {
        case .success(let value): return .success(value)
        case .failure(let error):
            return .failure(Refusal(Self.refusal(.badRequest, .parseError, "Parse error: \(error)")))
        }
    }

    // MARK: responses

    static let sessionHeader = HTTPFields.Element.Name("Mcp-Session-Id")!
    static let protocolVersionHeader = HTTPFields.Element.Name("MCP-Protocol-Version")!

    /// A refused request as an `Error`, so lookups can return `Result`.
    struct Refusal: Error {
        let response: Response
        init(_ response: Response) { self.response = response }
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue, session: String?) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let session { headers[sessionHeader] = session }
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    /// An HTTP error whose body is a JSON-RPC error response with a null id.
    static func refusal(_ status: HTTPResponse.Status, _ code: MCPDispatcher.ErrorCode, _ message: String) -> Response {
        json(status, MCPDispatcher.errorResponse(id: .null, code: code, message: message), session: nil)
    }
}
