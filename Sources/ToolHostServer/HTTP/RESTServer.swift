import Foundation
import Hummingbird
import HummingbirdCore
import Instrumentation
import Logging
import NIOCore
import ToolHost
import ToolHostJSON

/// The REST API and health endpoints over one `ToolHost`, served by Hummingbird.
///
/// Errors map once, from `ToolError.Code`: `not_found` 404, `invalid_arguments` 400 (with each
/// offending JSON pointer), `overloaded` 429 with `Retry-After`, `timeout` 504, `plugin_error` 422 (the
/// tool ran and said no), `plugin_crashed` 502 (its worker died), `plugin_unavailable` 503 (the plugin
/// cannot be loaded or is quarantined, or the host is shutting down and cut the call at the end of its grace
/// period), `forbidden` 403 (a named token's `tools` leave the tool out), `cancelled` and `internal` 500. A body
/// over the limit is 413, a body that is not JSON 400; a method a path does not serve 405 with `Allow` (`HEAD` is
/// served wherever `GET` is). `GET /metrics` (when configured) is Prometheus text; only `/healthz` and the status
/// page's assets (`/`, ``StatusPage``) are open without the token. JSON answers are compressed and request bodies
/// decoded by `CompressionMiddleware`. Every endpoint is guarded against browser pages
/// first (`BrowserGuardMiddleware`: `Origin`, `Host`, and `Content-Type: application/json` on every `POST`).
public struct RESTServer: Sendable {
    /// How the server listens and who may call it.
    public struct Configuration: Sendable {
        /// The host to bind.
        public var host: String = "127.0.0.1"
        /// The port to bind (0: an ephemeral port, printed in the startup line).
        public var port: Int = 8080
        /// The bearer tokens of which every request but `/healthz` must carry one (each may name its agent and limit
        /// its tools); nil: no authentication.
        public var tokens: AccessTokens?
        /// One bearer token that names no agent (the original format of the token file); nil: no authentication.
        public var token: String? {
            get { tokens?.tokens.first.map { String(decoding: $0.secret, as: UTF8.self) } }
            set { tokens = newValue.map { AccessTokens([.init(secret: $0)]) } }
        }
        /// The largest request body accepted, in bytes (decoded, for a body sent with `Content-Encoding`).
        public var maxBodyBytes: Int = 1 << 20
        /// The smallest JSON answer sent compressed (gzip or deflate) to a client whose `Accept-Encoding` allows it.
        public var compressMinBytes: Int = 1024
        /// The most connections open at once: one over it is answered 503 (`too_many_connections`) and closed at
        /// once. Keep it under the process's descriptor limit with room for the plugins' work.
        public var maxConnections: Int = 512
        /// A connection silent this long (no request, or a request whose head or body stops arriving) is closed;
        /// a call being answered, or an open event stream, is not silence.
        public var idleTimeout: Duration = .seconds(30)
        /// Serves `GET /metrics` (behind the token like everything but `/healthz`); nil: no such route.
        public var metrics: MetricsExporter?
        /// The daemon's memory samples, shown by `GET /v1/insights` (nil: its `memory` is null).
        public var memory: MemorySampler?
        /// MCP Streamable HTTP at `/mcp` (its origin rule and body limit follow `token` and `maxBodyBytes`).
        public var mcp = MCPHTTPTransport.Configuration()
        /// The store of whole results answered shaped to a budget (`GET /v1/results/{id}`, MCP `resources/read`).
        public var results = ResultStore.Configuration()

        /// A configuration with the defaults.
        public init() {}

        /// Whether `host` is a loopback address or name (`localhost`, `127.0.0.0/8`, `::1`): only then may the
        /// server run without a token.
        public var listensOnLoopback: Bool {
            BrowserGuardMiddleware.isLoopbackHost(host)
        }
    }

    private let host: ToolHost
    private let configuration: Configuration
    private let drainDeadline: DrainDeadline?
    private let logger: Logger
    private let results: ResultStore

    /// - Parameters:
    ///   - host: the pipeline every call goes through.
    ///   - configuration: address, token and limits.
    ///   - drainDeadline: when it passes, calls still running are cut and answered 503 ("the host is shutting
    ///     down"); nil: they run until the server's task is cancelled, and are not answered.
    ///   - logger: the server's logger.
    public init(
        host: ToolHost, configuration: Configuration, drainDeadline: DrainDeadline? = nil, logger: Logger
    ) {
        self.host = host
        self.configuration = configuration
        self.drainDeadline = drainDeadline
        self.logger = logger
        self.results = ResultStore(configuration: configuration.results)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting and lets requests in flight finish.
    /// - Parameter onListening: called with the bound port once the server accepts connections.
    /// - Throws: when the address cannot be bound.
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        try await makeService(onListening: onListening).runService()
    }

    /// The server as a `Service`, for a `ServiceGroup` that owns signals and the shutdown grace period: on
    /// graceful shutdown it stops accepting and waits for the requests in flight.
    /// - Parameter onListening: called with the bound port once the server accepts connections.
    /// - Returns: the Hummingbird application.
    public func makeService(onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        // HEAD is answered wherever GET is (the GET response without its body).
        // The context carries the peer's address: MCP sessions belong to it where no named token names the client.
        let router = Router(context: ToolHostRequestContext.self, options: .autoGenerateHeadEndpoints)
        let noToken = configuration.tokens == nil
        router.add(
            middleware: BrowserGuardMiddleware(
                loopbackOrigins: noToken, loopbackHosts: noToken && configuration.listensOnLoopback))
        if let tokens = configuration.tokens {
            router.add(middleware: BearerTokenMiddleware(tokens: tokens))
        }
        router.add(
            middleware: CompressionMiddleware(
                threshold: configuration.compressMinBytes, maxBodyBytes: configuration.maxBodyBytes,
                mcpPath: configuration.mcp.path))
        var routes = addRoutes(to: router)
        var mcp = configuration.mcp
        mcp.maxBodyBytes = configuration.maxBodyBytes
        routes.append(
            MCPHTTPTransport(
                host: host, configuration: mcp, drainDeadline: drainDeadline, results: results, logger: logger
            )
            .addRoutes(to: router))
        // After every route: it sees only the requests no route took (405 or 404).
        router.add(
            middleware: MethodNotAllowedMiddleware(
                routes: routes.map { route in
                    (route.path, route.methods.contains(.get) ? route.methods + [.head] : route.methods)
                }))
        let connections = ConnectionLimitHandler.Counter()
        let maxConnections = configuration.maxConnections
        let logger = self.logger
        let http = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionLimitHandler(counter: connections, maxConnections: maxConnections, logger: logger)
            ],
            idleTimeout: TimeAmount(configuration.idleTimeout))
        let application = Application(
            router: router,
            server: .http1(configuration: http),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "toolhost"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        return application
    }

    /// Registers the REST and health routes.
    /// - Returns: each path with its methods, for the 405 answers.
    private func addRoutes(
        to router: Router<ToolHostRequestContext>
    ) -> [(path: RouterPath, methods: [HTTPRequest.Method])] {
        let host = self.host
        let limit = configuration.maxBodyBytes
        let drainDeadline = self.drainDeadline
        let results = self.results
        var routes: [(path: RouterPath, methods: [HTTPRequest.Method])] = []
        func route(
            _ method: HTTPRequest.Method, _ path: RouterPath,
            _ handler: @escaping @Sendable (Request, ToolHostRequestContext) async throws -> Response
        ) {
            router.on(path, method: method, use: handler)
            if let index = routes.firstIndex(where: { $0.path == path }) {
                routes[index].methods.append(method)
            } else {
                routes.append((path, [method]))
            }
        }
        /// A route whose handler is given the request's caller; a caller that cannot be resolved (a bad
        /// `X-Toolhost-Agent`, or one its token does not allow) is answered with that error and the handler not run.
        func callerRoute(
            _ method: HTTPRequest.Method, _ path: RouterPath,
            _ handler: @escaping @Sendable (Request, ToolHostRequestContext, Caller) async throws -> Response
        ) {
            route(method, path) { request, context in
                let caller: Caller
                do throws(ToolError) { caller = try Caller.of(request) } catch { return Self.failure(error) }
                return try await handler(request, context, caller)
            }
        }
        route(.get, "/healthz") { _, _ in Self.json(.ok, ["status": "ok"]) }
        for asset in StatusPage.assets(tokenRequired: configuration.tokens != nil) {
            route(.get, RouterPath(asset.path)) { _, _ in StatusPage.response(asset) }
        }
        if let metrics = configuration.metrics {
            route(.get, "/metrics") { _, _ in metrics.response() }
        }
        route(.get, "/readyz") { _, _ in
            // A draining host finishes what it runs and takes nothing new: a load balancer should look elsewhere.
            if host.isDraining { return Self.json(.serviceUnavailable, ["status": "draining"]) }
            return Self.json(.ok, ["status": "ready", "tools": .int(Int64(host.tools().count))])
        }
        callerRoute(.get, "/v1/tools") { _, _, caller in
            // A token limited to some tools sees only those.
            return Self.json(.ok, ["tools": .array(host.tools().filter { caller.permits($0.name) }.map(\.wireJSON))])
        }
        route(.get, "/v1/agents") { _, _ in
            Self.json(.ok, ["agents": .array(host.agents().map(\.wireJSON))])
        }
        route(.get, "/v1/plugins") { _, _ in
            // Folders whose manifest could not be read at all are problems: there is no plugin to show them under.
            Self.json(
                .ok,
                [
                    "plugins": .array(host.plugins().map(\.wireJSON)),
                    "problems": .array(host.problems().map(\.wireJSON)),
                ])
        }
        route(.get, "/v1/cache") { _, _ in
            Self.json(.ok, CacheTierStatus.wireJSON(host.cacheTiers()))
        }
        let memory = configuration.memory
        route(.get, "/v1/insights") { request, _ in
            let limit: Int
            do throws(ToolError) {
                limit = try Insights.limit(text: request.uri.queryParameters.get("limit").map { String($0) })
            } catch {
                return Self.failure(error)
            }
            return Self.json(.ok, Insights(host: host, memory: memory, limit: limit).wireJSON)
        }
        route(.delete, "/v1/cache") { request, _ in
            let removed = await host.invalidateCache(
                plugin: request.uri.queryParameters.get("plugin"), tool: request.uri.queryParameters.get("tool"))
            return Self.json(.ok, removed.wireJSON)
        }
        route(.get, "/v1/capabilities") { _, _ in
            Self.json(
                .ok,
                [
                    "capabilities": .array(host.capabilities().map(\.wireJSON)),
                    "conflicts": .array(host.capabilityConflicts().map(\.wireJSON)),
                ])
        }
        for byCapability in [false, true] {
            let path: RouterPath = byCapability ? "/v1/capabilities/{name}/call" : "/v1/tools/{name}/call"
            callerRoute(.post, path) { request, context, caller in
                // The name as sent may be percent-encoded (`probe%2Eecho`): the tool is named by the decoded text.
                guard let name = (context.parameters.get("name") ?? "").removingPercentEncoding else {
                    return Self.failure(
                        .badRequest, code: "invalid_arguments",
                        "the \(byCapability ? "capability" : "tool") name in the path is not valid percent-encoding")
                }
                let arguments: JSONValue
                switch await Self.readJSON(request, limit: limit) {
                case .value(let value): arguments = value
                case .refused(let response): return response
                }
                guard case .object = arguments else {
                    return Self.failure(.badRequest, code: "invalid_arguments", "the body must be a JSON object")
                }
                var call: ToolCall
                do throws(ToolError) {
                    // A token limited to some tools calls a capability only when its patterns name the capability's
                    // tool (`capability-<name>`, as MCP lists it).
                    if let refusal = caller.refusal(for: byCapability ? CapabilityInfo.mcpPrefix + name : name) {
                        throw refusal
                    }
                    call = try Self.call(
                        name, arguments: arguments, request: request, agent: caller.agent, byCapability: byCapability)
                } catch {
                    return Self.failure(error)
                }
                if host.isTracing { call.traceContext = Self.traceContext(request, host: host) }
                @Sendable func run(_ call: ToolCall) async -> Result<ToolResult, ToolError> {
                    if let drainDeadline { return await drainDeadline.cutting { await host.call(call) } }
                    return await host.call(call)
                }
                if Self.wantsEventStream(request) {
                    return Self.eventStream(call, caller: caller, results: results, host: host, run: run)
                }
                return Self.answer(await run(call), call: call, caller: caller, results: results, host: host)
            }
        }
        callerRoute(.post, "/v1/batch") { request, _, caller in
            let body: JSONValue
            switch await Self.readJSON(request, limit: limit) {
            case .value(let value): body = value
            case .refused(let response): return response
            }
            guard let items = body.arrayValue else {
                return Self.failure(
                    .badRequest, code: "invalid_arguments",
                    "the body must be a JSON array of calls ({\"tool\", \"arguments\", \"priority\", \"timeoutMs\"})")
            }
            var calls: [ToolCall] = []
            for (index, item) in items.enumerated() {
                do throws(ToolError) {
                    var call = try ToolCall(wire: item)
                    call.agent = caller.agent ?? Caller.anonymous
                    calls.append(call)
                } catch {
                    return Self.failure(.badRequest, code: "invalid_arguments", "call \(index): \(error.message)")
                }
            }
            if host.isTracing, let parent = Self.traceContext(request, host: host) {
                for index in calls.indices { calls[index].traceContext = parent }
            }
            // A call outside the caller's tools is answered `forbidden` in its place; the others run.
            let refusals = calls.map { caller.refusal(for: $0.tool) }
            let allowed = zip(calls, refusals).compactMap { call, refusal in refusal == nil ? call : nil }
            var outcomes =
                if let drainDeadline {
                    await drainDeadline.cutting { [allowed] in await host.batch(allowed) }
                } else {
                    await host.batch(allowed)
                }
            if allowed.count < calls.count {
                var ran = outcomes.makeIterator()
                outcomes = refusals.map { refusal in refusal.map { .failure($0) } ?? ran.next()! }
            }
            if host.isDraining {
                for index in outcomes.indices {
                    if case .failure(let error) = outcomes[index], error.code == .cancelled {
                        outcomes[index] = .failure(Self.cutByDrain)
                    }
                }
            }
            let answers = zip(calls, outcomes).map { call, outcome in
                guard case .success(var result) = outcome else { return ToolResult.wireJSON(outcome, call: call) }
                result.output =
                    result.budgeted(
                        asked: call.maxResultBytes, store: results, owner: Self.resultOwner(caller),
                        retrieval: Self.retrieval
                    ).output
                return ToolResult.wireJSON(.success(result), call: call)
            }
            return Self.json(.ok, ["results": .array(answers)])
        }
        callerRoute(.post, "/v1/tasks") { request, _, caller in
            let body: JSONValue
            switch await Self.readJSON(request, limit: limit) {
            case .value(let value): body = value
            case .refused(let response): return response
            }
            let tasks: [DistributedTask]
            var concurrency = 16
            do throws(ToolError) {
                if let text = request.uri.queryParameters.get("concurrency") {
                    guard let value = Int64(text), ToolHost.distributionConcurrencyRange.contains(value) else {
                        throw ToolError(
                            .invalidArguments,
                            ToolCall.rangeMessage(
                                "query parameter concurrency", ToolHost.distributionConcurrencyRange, nil, String(text))
                        )
                    }
                    concurrency = Int(value)
                }
                tasks = try DistributedTask.list(wire: body)
                // A token limited to some tools distributes only to capabilities its patterns name.
                for task in tasks {
                    for capability in task.requires {
                        if let refusal = caller.refusal(for: CapabilityInfo.mcpPrefix + capability) { throw refusal }
                    }
                }
            } catch {
                return Self.failure(error)
            }
            let distribution =
                if let drainDeadline {
                    await drainDeadline.cutting { [tasks, concurrency] in
                        await host.distribute(tasks, concurrency: concurrency, agent: caller.agent ?? Caller.anonymous)
                    }
                } else {
                    await host.distribute(tasks, concurrency: concurrency, agent: caller.agent ?? Caller.anonymous)
                }
            return Self.json(.ok, distribution.wireJSON)
        }
        callerRoute(.get, "/v1/results/{id}") { _, context, caller in
            let id = context.parameters.get("id") ?? ""
            guard let bytes = results.read(id, owner: Self.resultOwner(caller)) else {
                return Self.failure(
                    .notFound, code: "not_found",
                    "no result \(id.prefix(64)): results answered shaped to a budget are kept "
                        + "\(results.lifetime.components.seconds) s (and while the store has room)")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return routes
    }

    // MARK: helpers

    /// The answer to a call: its (budgeted) result with the `X-Toolhost-*` headers, or its error.
    static func answer(
        _ outcome: Result<ToolResult, ToolError>, call: ToolCall, caller: Caller, results: ResultStore, host: ToolHost
    ) -> Response {
        let (status, headers, body) = answerParts(outcome, call: call, caller: caller, results: results, host: host)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// ``answer(_:call:caller:results:host:)`` as its status, headers and body.
    static func answerParts(
        _ outcome: Result<ToolResult, ToolError>, call: ToolCall, caller: Caller, results: ResultStore, host: ToolHost
    ) -> (HTTPResponse.Status, HTTPFields, [UInt8]) {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        switch outcome {
        case .success(let result):
            headers[Self.cachedHeader] = result.cached ? "true" : "false"
            if result.capability != nil { headers[Self.providerHeader] = result.tool }
            let budgeted = result.budgeted(
                asked: call.maxResultBytes, store: results, owner: Self.resultOwner(caller), retrieval: Self.retrieval)
            if budgeted.isShaped { headers[Self.truncatedHeader] = "true" }
            if let id = budgeted.resultID { headers[Self.resultIDHeader] = id }
            return (.ok, headers, budgeted.output)
        case .failure(var error):
            // Cut when a drain's grace period passed with the call still running: the caller is told why, and may
            // retry elsewhere (over HTTP only a drain cancels a call; a client that hangs up reads nothing).
            if error.code == .cancelled && host.isDraining { error = Self.cutByDrain }
            if error.code == .overloaded { headers[.retryAfter] = "1" }
            return (status(of: error.code), headers, JSONValue.object(["error": error.wireJSON]).serialized())
        }
    }

    /// Whether a call's client asked for its progress: its `Accept` ranks `text/event-stream` above
    /// `application/json`.
    static func wantsEventStream(_ request: Request) -> Bool {
        let accept = request.headers[values: .accept]
        let stream = MCPHTTPTransport.quality(of: "text/event-stream", in: accept)
        return stream > 0 && stream > MCPHTTPTransport.quality(of: "application/json", in: accept)
    }

    /// A call answered as server-sent events: `progress` events while it runs (`{"progress", "total"?,
    /// "message"?}`, at most one every ``CallProgress/defaultInterval``, the latest report), then one `result`
    /// event whose data is the body the JSON answer would have (with its `X-Toolhost-*` headers as
    /// `{"status", "headers"}` in a `meta` event before it), or one `error` event with `{"error": {...}}` and the
    /// status the JSON answer would have in the `meta` event. The response itself is 200: the outcome is known only
    /// after its headers were sent.
    static func eventStream(
        _ call: ToolCall, caller: Caller, results: ResultStore, host: ToolHost,
        run: @escaping @Sendable (ToolCall) async -> Result<ToolResult, ToolError>
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let (events, sink) = AsyncStream.makeStream(of: ByteBuffer.self)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var call = call
                        let progress = CallProgress()
                        call.progress = progress
                        let outcome = await progress.relay(
                            to: { sink.yield(ServerSentEvent.event("progress", $0.wireJSON.serialized())) },
                            while: { [call] in await run(call) })
                        let (status, fields, body) = Self.answerParts(
                            outcome, call: call, caller: caller, results: results, host: host)
                        var meta: JSONObject = [:]
                        for field in fields where field.name.canonicalName.hasPrefix("x-toolhost-") {
                            meta.set(field.name.canonicalName, .string(field.value))
                        }
                        sink.yield(
                            ServerSentEvent.event(
                                "meta",
                                JSONValue.object(["status": .int(Int64(status.code)), "headers": .object(meta)])
                                    .serialized()))
                        sink.yield(ServerSentEvent.event(status == .ok ? "result" : "error", body))
                        sink.finish()
                    }
                    for await event in events { try await writer.write(event) }
                }
                try await writer.finish(nil)
            })
    }

    static let traceparentHeader = HTTPFields.Element.Name("traceparent")!
    static let tracestateHeader = HTTPFields.Element.Name("tracestate")!

    /// The caller's trace from the request's W3C `traceparent` and `tracestate` headers (REST calls and `/mcp`).
    /// - Returns: nil when tracing is off or the request has no `traceparent`.
    static func traceContext(_ request: Request, host: ToolHost) -> InstrumentationContext? {
        host.traceContext(
            traceparent: request.headers[traceparentHeader], tracestate: request.headers[tracestateHeader])
    }

    /// The call a `POST /v1/tools/{name}/call` asks for: `timeoutMs`, `maxResultBytes` and `priority` from the query,
    /// else from the `X-Toolhost-Timeout-Ms`, `X-Toolhost-Max-Result-Bytes` and `X-Toolhost-Priority` headers,
    /// checked like every front end's; for `POST /v1/capabilities/{name}/call` also `complexity`
    /// (`X-Toolhost-Complexity`).
    /// - Throws: `invalid_arguments` naming the parameter and its range.
    static func call(
        _ name: String, arguments: JSONValue, request: Request, agent: String?, byCapability: Bool = false
    ) throws(ToolError) -> ToolCall {
        let query = request.uri.queryParameters
        var call =
            byCapability
            ? ToolCall(capability: name, arguments: arguments, agent: agent ?? Caller.anonymous)
            : ToolCall(tool: name, arguments: arguments, agent: agent ?? Caller.anonymous)
        if byCapability {
            if let text = query.get("complexity") {
                call.complexity = try ToolCall.complexity(text: text, field: "query parameter complexity")
            } else if let text = request.headers[complexityHeader] {
                call.complexity = try ToolCall.complexity(text: text, field: "header \(complexityHeader)")
            }
        }
        if let text = query.get("timeoutMs") {
            call.timeout = try ToolCall.timeout(text: text, field: "query parameter timeoutMs")
        } else if let text = request.headers[timeoutHeader] {
            call.timeout = try ToolCall.timeout(text: text, field: "header \(timeoutHeader)")
        }
        if let text = query.get("maxResultBytes") {
            call.maxResultBytes = try ToolCall.resultBudget(text: text, field: "query parameter maxResultBytes")
        } else if let text = request.headers[maxResultBytesHeader] {
            call.maxResultBytes = try ToolCall.resultBudget(text: text, field: "header \(maxResultBytesHeader)")
        }
        if let text = query.get("priority") {
            call.priority = try ToolCall.priority(text: text, field: "query parameter priority")
        } else if let text = request.headers[priorityHeader] {
            call.priority = try ToolCall.priority(text: text, field: "header \(priorityHeader)")
        }
        return call
    }

    /// What a call cut at the end of a drain's grace period is answered with.
    static let cutByDrain = ToolError(
        .pluginUnavailable, "the host is shutting down: the call was cancelled at the end of its grace period")

    static let timeoutHeader = HTTPFields.Element.Name("X-Toolhost-Timeout-Ms")!
    static let priorityHeader = HTTPFields.Element.Name("X-Toolhost-Priority")!
    static let cachedHeader = HTTPFields.Element.Name("X-Toolhost-Cached")!
    static let maxResultBytesHeader = HTTPFields.Element.Name("X-Toolhost-Max-Result-Bytes")!
    static let truncatedHeader = HTTPFields.Element.Name("X-Toolhost-Truncated")!
    static let resultIDHeader = HTTPFields.Element.Name("X-Toolhost-Result-Id")!
    /// A call by capability: the tool that served it, `<plugin>.<tool>`.
    static let providerHeader = HTTPFields.Element.Name("X-Toolhost-Provider")!
    static let complexityHeader = HTTPFields.Element.Name("X-Toolhost-Complexity")!

    /// Who owns a result kept over REST: the named token's agent (only requests with that token read it back);
    /// without named tokens whoever may call may read a kept result, and only by its unguessable id.
    static func resultOwner(_ caller: Caller) -> String {
        caller.token?.agent.map { "rest:" + $0 } ?? "rest"
    }

    /// The note's field that says where a kept result is read.
    static func retrieval(_ id: String) -> [(String, JSONValue)] {
        [("retrieve", .string("GET /v1/results/" + id))]
    }

    /// The HTTP status of each error code (documented on the type).
    static func status(of code: ToolError.Code) -> HTTPResponse.Status {
        switch code {
        case .notFound: .notFound
        case .invalidArguments: .badRequest
        case .overloaded: .tooManyRequests
        case .timeout: .gatewayTimeout
        case .pluginError: .unprocessableContent
        case .pluginCrashed: .badGateway
        case .pluginUnavailable: .serviceUnavailable
        case .forbidden: .forbidden
        default: .internalServerError
        }
    }

    static func failure(_ error: ToolError) -> Response {
        var response = json(status(of: error.code), ["error": error.wireJSON])
        if error.code == .overloaded { response.headers[.retryAfter] = "1" }
        return response
    }

    static func failure(_ status: HTTPResponse.Status, code: String, _ message: String) -> Response {
        json(status, ["error": ["code": .string(code), "message": .string(message)]])
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    /// Reads the body up to `limit` bytes and parses it; the failure is the response to send.
    static func readJSON(_ request: Request, limit: Int) async -> Body {
        var bytes: [UInt8] = []
        do {
            for try await buffer in request.body {
                if bytes.count + buffer.readableBytes > limit {
                    return .refused(
                        (failure(.contentTooLarge, code: "invalid_arguments", "the body is over \(limit) bytes")))
                }
                bytes.append(contentsOf: buffer.readableBytesView)
            }
        } catch {
            return .refused((failure(.badRequest, code: "invalid_arguments", "reading the body failed")))
        }
        if bytes.isEmpty { return .value([:]) }
        do {
            return .value(try JSONValue.parse(bytes))
        } catch {
            return .refused((failure(.badRequest, code: "invalid_arguments", "the body is not valid JSON: \(error)")))
        }
    }

    /// A parsed body, or the response that refuses it.
    enum Body {
        case value(JSONValue)
        case refused(Response)
    }
}
