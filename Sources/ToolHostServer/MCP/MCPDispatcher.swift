import Synchronization
import ToolHost
import ToolHostJSON

/// The tool part of the Model Context Protocol for one connection (a stdio process, an HTTP session), independent
/// of the transport: it keeps the protocol state, turns JSON-RPC messages into replies, and `tools/call` requests
/// into pipeline calls.
///
/// State: `initialize` negotiates the protocol version (the client's when served, else the newest) and opens the
/// session; `tools/*` before it is refused ("send initialize first"); a second `initialize` is refused. Protocol
/// failures (malformed messages, unknown methods, an unknown tool, parameters that are not the right shape) are
/// JSON-RPC errors; a tool that fails is a result with `isError: true` whose text names the error code and
/// message, so the model sees it.
public final class MCPDispatcher: Sendable {
    /// The protocol versions served, newest first.
    public static let supportedProtocolVersions = ["2025-06-18", "2025-03-26", "2024-11-05"]

    /// The server's name and version in `initialize` results.
    public static let serverInfo: JSONValue = ["name": "toolhost", "version": "0.1.0"]

    /// The notification sent when the set of tools changed (``ToolHost/observeToolChanges(_:)``).
    public static let toolsListChanged: JSONValue = ["jsonrpc": "2.0", "method": "notifications/tools/list_changed"]

    /// JSON-RPC 2.0 error codes.
    public struct ErrorCode: Sendable, Hashable {
        /// The numeric code.
        public let rawValue: Int64
        /// Invalid JSON.
        public static let parseError = ErrorCode(rawValue: -32700)
        /// Not a valid request object, or not valid in the session's state.
        public static let invalidRequest = ErrorCode(rawValue: -32600)
        /// No such method.
        public static let methodNotFound = ErrorCode(rawValue: -32601)
        /// Parameters of the wrong shape, or an unknown tool.
        public static let invalidParams = ErrorCode(rawValue: -32602)
        /// A fault in the server.
        public static let internalError = ErrorCode(rawValue: -32603)
        /// The request's session is unknown or has ended (Streamable HTTP, with status 404).
        public static let sessionNotFound = ErrorCode(rawValue: -32001)
        /// `resources/read` of a resource that does not exist (or not for this session).
        public static let resourceNotFound = ErrorCode(rawValue: -32002)
        /// The client cancelled the request (the code LSP uses); sent only where a transport must answer.
        public static let requestCancelled = ErrorCode(rawValue: -32800)
    }

    /// What a transport does with one incoming message.
    public enum Action: Sendable {
        /// Send this response now.
        case reply(JSONValue)
        /// Nothing to send (a notification, or a response from the client).
        case none
        /// Cancel the call with this request id.
        case cancel(JSONValue)
        /// Run this call (``run(_:id:progressToken:notify:)``) and send its response; with a progress token (the
        /// request's `params._meta.progressToken`) the client asked for `notifications/progress` while it runs.
        case call(id: JSONValue, ToolCall, progressToken: JSONValue?)
    }

    /// Where the session is in its life.
    public enum Phase: Sendable, Equatable {
        /// Nothing but `initialize` and `ping` is served.
        case awaitingInitialize
        /// `initialize` was answered with this version; the client may send `notifications/initialized`.
        case initialized(version: String)
        /// The client sent `notifications/initialized`.
        case ready(version: String)
    }

    private let host: ToolHost
    private let phase: Mutex<Phase>
    private let results: ResultStore
    private let owner: String
    private let resultContent: MCPResultContent
    /// Who calls: a named token's agent and tools (HTTP), or no one yet (stdio: `initialize` names the client).
    private let caller: Caller
    /// The agent the session's calls are counted under, once known (``agentName``).
    private let agent: Mutex<String?>

    /// - Parameters:
    ///   - host: the pipeline every call goes through.
    ///   - version: for a transport that negotiated the version itself (an HTTP session made by `initialize`): the
    ///     dispatcher starts initialized with it.
    ///   - results: where whole results shaped to a budget are kept, for `resources/read`.
    ///   - owner: the session's name in the store: only this session reads what it kept.
    ///   - resultContent: whether a tool result carries its text, its structured content, or both.
    ///   - caller: who calls (a named token's agent and tools over HTTP); the session's calls carry its agent, else
    ///     the client's `clientInfo.name`, else ``Caller/anonymous``; a tool outside its patterns is neither listed
    ///     nor called.
    ///   - clientInfo: for a transport that answered `initialize` itself: that request's `clientInfo`.
    public init(
        host: ToolHost, initializedWith version: String? = nil, results: ResultStore = ResultStore(),
        owner: String = "mcp", resultContent: MCPResultContent = .both, caller: Caller = Caller(),
        clientInfo: JSONValue? = nil
    ) {
        self.caller = caller
        self.agent = Mutex(caller.agent ?? clientInfo.flatMap(Self.agentName(clientInfo:)))
        self.resultContent = resultContent
        self.host = host
        self.phase = Mutex(version.map { .initialized(version: $0) } ?? .awaitingInitialize)
        self.results = results
        self.owner = owner
    }

    /// The scheme and path of a kept result's resource URI: `toolhost://results/<id>`.
    static let resultURIPrefix = "toolhost://results/"

    /// The session's phase.
    public var currentPhase: Phase { phase.withLock { $0 } }

    /// Whether `initialize` was answered (notifications may be sent from then on).
    public var isInitialized: Bool { currentPhase != .awaitingInitialize }

    /// The negotiated protocol version, once `initialize` was answered.
    public var protocolVersion: String? {
        switch currentPhase {
        case .awaitingInitialize: nil
        case .initialized(let version), .ready(let version): version
        }
    }

    /// Handles one parsed message: answers the cheap requests at once and moves the protocol state.
    /// - Parameter message: one JSON-RPC message.
    /// - Returns: what the transport should do.
    public func handle(_ message: JSONValue) -> Action {
        guard case .object(let object) = message else {
            return .reply(
                Self.errorResponse(id: .null, code: .invalidRequest, message: "Invalid Request: not an object"))
        }
        let id = object["id"]
        if let id, !Self.isValidID(id) {
            return .reply(Self.errorResponse(id: .null, code: .invalidRequest, message: "Invalid Request: bad id"))
        }
        guard let method = object["method"]?.stringValue else {
            // A response from the client (we send no requests), or garbage.
            if id != nil, object["result"] != nil || object["error"] != nil { return .none }
            return .reply(
                Self.errorResponse(id: id ?? .null, code: .invalidRequest, message: "Invalid Request: no method"))
        }
        let params = object["params"] ?? [:]
        guard let id else {
            switch method {
            case "notifications/cancelled":
                if let requestID = params["requestId"] { return .cancel(requestID) }
            case "notifications/initialized":
                phase.withLock { phase in
                    if case .initialized(let version) = phase { phase = .ready(version: version) }
                }
            default:
                break
            }
            return .none
        }
        switch method {
        case "initialize":
            return .reply(initialize(id: id, params))
        case "ping":
            return .reply(Self.resultResponse(id: id, [:]))
        case "tools/list", "tools/call", "resources/list", "resources/read", "resources/templates/list":
            guard isInitialized else {
                return .reply(
                    Self.errorResponse(
                        id: id, code: .invalidRequest, message: "Invalid Request: send initialize before \(method)"))
            }
            if method == "tools/list" {
                let tools =
                    host.tools().filter { caller.permits($0.name) }.map(\.mcpJSON)
                    + host.capabilities().filter { caller.permits(CapabilityInfo.mcpPrefix + $0.name) }.map(\.mcpJSON)
                return .reply(Self.resultResponse(id: id, ["tools": .array(tools)]))
            }
            if method.hasPrefix("resources/") { return .reply(resources(method, id: id, params)) }
            guard let name = params["name"]?.stringValue else {
                return .reply(
                    Self.errorResponse(id: id, code: .invalidParams, message: "tools/call needs params.name (a string)")
                )
            }
            let arguments = params["arguments"] ?? [:]
            guard case .object = arguments else {
                return .reply(
                    Self.errorResponse(
                        id: id, code: .invalidParams, message: "tools/call: params.arguments must be an object"))
            }
            if let refusal = caller.refusal(for: name) {
                return .reply(Self.resultResponse(id: id, Self.errorResult(refusal)))
            }
            // A capability's tool is `capability-<name>`: no tool's own name (`<plugin>.<tool>`) looks like that.
            var call =
                name.hasPrefix(CapabilityInfo.mcpPrefix)
                ? ToolCall(
                    capability: String(name.dropFirst(CapabilityInfo.mcpPrefix.count)), arguments: arguments,
                    agent: agentName)
                : ToolCall(tool: name, arguments: arguments, agent: agentName)
            do throws(ToolError) {
                if let raw = params["_meta"]?["maxResultBytes"] {
                    call.maxResultBytes = try ToolCall.resultBudget(
                        raw.intValue, field: "params._meta.maxResultBytes", given: raw.serializedString)
                }
                if call.byCapability, let raw = params["_meta"]?["complexity"] {
                    call.complexity = try ToolCall.complexity(
                        raw.doubleValue, field: "params._meta.complexity", given: raw.serializedString)
                }
            } catch {
                return .reply(Self.errorResponse(id: id, code: .invalidParams, message: error.message))
            }
            // W3C Trace Context in `_meta` (as the MCP SDKs' OpenTelemetry instrumentation sends it).
            if host.isTracing, let traceparent = params["_meta"]?["traceparent"]?.stringValue {
                call.traceContext = host.traceContext(
                    traceparent: traceparent, tracestate: params["_meta"]?["tracestate"]?.stringValue)
            }
            // MCP: a progress token is a string or an integer; anything else is not one.
            var progressToken: JSONValue? = nil
            switch params["_meta"]?["progressToken"] {
            case .some(let token) where token.stringValue != nil || token.intValue != nil: progressToken = token
            default: break
            }
            return .call(id: id, call, progressToken: progressToken)
        default:
            return .reply(Self.errorResponse(id: id, code: .methodNotFound, message: "Method not found: \(method)"))
        }
    }

    /// Runs one `tools/call` through the pipeline.
    /// - Parameters:
    ///   - progressToken: the request's `params._meta.progressToken`, if it had one.
    ///   - notify: sends a message to the client while the call runs: with a progress token, the call's progress
    ///     as `notifications/progress` (coalesced: at most one every ``CallProgress/defaultInterval``, the latest
    ///     report; none after the call returned). Nil: the transport cannot send anything before the response.
    /// - Returns: the JSON-RPC response.
    public func run(
        _ call: ToolCall, id: JSONValue, progressToken: JSONValue? = nil,
        notify: (@Sendable (JSONValue) async -> Void)? = nil
    ) async -> JSONValue {
        guard let progressToken, let notify else { return await respond(to: call, id: id) }
        var call = call
        let progress = CallProgress()
        call.progress = progress
        let withMessage = (protocolVersion ?? "") >= "2025-03-26"
        return await progress.relay(
            to: { report in
                await notify(Self.progressNotification(token: progressToken, report, withMessage: withMessage))
            },
            while: { [call] in await respond(to: call, id: id) })
    }

    /// `notifications/progress` for one report: the token, `progress`, `total` when known, and `message` (from
    /// protocol version 2025-03-26 on, which added it).
    static func progressNotification(token: JSONValue, _ report: ProgressReport, withMessage: Bool = true) -> JSONValue
    {
        var params: JSONObject = ["progressToken": token]
        if case .object(let fields) = report.wireJSON {
            for (key, value) in fields where withMessage || key != "message" { params.set(key, value) }
        }
        return ["jsonrpc": "2.0", "method": "notifications/progress", "params": .object(params)]
    }

    /// The response to one `tools/call`.
    private func respond(to call: ToolCall, id: JSONValue) async -> JSONValue {
        switch await host.call(call) {
        case .success(var result):
            let budgeted = result.budgeted(asked: call.maxResultBytes, store: results, owner: owner) { id in
                [("resource", .string(Self.resultURIPrefix + id))]
            }
            let wholeBytes = result.output.count
            result.output = budgeted.output
            // `json` parses the output: once, not once to test and once to use.
            let json = result.json
            // Structured content is an object: for any other result the text is the only copy.
            let structured = json.objectValue != nil
            let withText = resultContent != .structured || !structured
            let withStructured = resultContent != .text && structured
            var content: [JSONValue] = withText ? [["type": "text", "text": .string(result.text)]] : []
            if let resultID = budgeted.resultID, (protocolVersion ?? "") >= "2025-06-18" {
                content.append(
                    [
                        "type": "resource_link", "uri": .string(Self.resultURIPrefix + resultID),
                        "name": .string("result-\(resultID)"), "mimeType": "application/json",
                        "description": .string(
                            "the whole result of \(call.tool) (\(wholeBytes) bytes), answered shaped to its budget"),
                    ])
            }
            var body: JSONObject = ["content": .array(content), "isError": false]
            if withStructured { body.set("structuredContent", json) }
            if let capability = result.capability {
                // Which provider served a call by capability, and those that failed before it.
                body.set(
                    "_meta",
                    [
                        "toolhost/capability": .string(capability), "toolhost/provider": .string(result.tool),
                        "toolhost/failedOver": .array(result.failedOver.map { .string($0.provider) }),
                    ])
            }
            return Self.resultResponse(id: id, .object(body))
        case .failure(let error) where error.code == .notFound:
            return Self.errorResponse(id: id, code: .invalidParams, message: "Unknown tool: \(error.message)")
        case .failure(let error) where error.code == .cancelled && host.isDraining:
            // Cut by a drain's grace period (the client did not cancel it: that call gets no response at all).
            return Self.errorResponse(
                id: id, code: .internalError,
                message: "the host is shutting down: the call was cut when the grace period passed; retry on another "
                    + "instance")
        case .failure(let error):
            return Self.resultResponse(id: id, Self.errorResult(error))
        }
    }

    /// A tool result with `isError: true` whose text names the error's code and message, for the model to read.
    private static func errorResult(_ error: ToolError) -> JSONValue {
        ["content": [["type": "text", "text": .string(error.mcpText)]], "isError": true]
    }

    /// The agent this session's calls are counted under.
    public var agentName: String {
        agent.withLock { $0 } ?? Caller.anonymous
    }

    /// The agent named by an `initialize`'s `clientInfo`: its `name` with anything an agent name may not hold
    /// replaced by `-` ("Claude Desktop" is `Claude-Desktop`), cut to 64 characters; nil when it has no name.
    static func agentName(clientInfo: JSONValue) -> String? {
        clientInfo["name"]?.stringValue.flatMap(ToolCall.agentName(from:))
    }

    // MARK: methods

    /// `resources/list` (the results this session can read), `resources/read` (one of them, whole) and
    /// `resources/templates/list` (none).
    private func resources(_ method: String, id: JSONValue, _ params: JSONValue) -> JSONValue {
        switch method {
        case "resources/list":
            let listed: [JSONValue] = results.ids(owner: owner).map { resultID in
                [
                    "uri": .string(Self.resultURIPrefix + resultID), "name": .string("result-\(resultID)"),
                    "mimeType": "application/json",
                ]
            }
            return Self.resultResponse(id: id, ["resources": .array(listed)])
        case "resources/templates/list":
            return Self.resultResponse(id: id, ["resourceTemplates": []])
        default:
            guard let uri = params["uri"]?.stringValue else {
                return Self.errorResponse(
                    id: id, code: .invalidParams, message: "resources/read needs params.uri (a string)")
            }
            guard uri.hasPrefix(Self.resultURIPrefix),
                let bytes = results.read(String(uri.dropFirst(Self.resultURIPrefix.count)), owner: owner)
            else {
                return Self.errorResponse(
                    id: id, code: .resourceNotFound,
                    message:
                        "Resource not found: \(uri.prefix(120)) (results are kept \(results.lifetime.components.seconds) s, "
                        + "for the session that made the call)")
            }
            let contents: JSONValue = [
                [
                    "uri": .string(uri), "mimeType": "application/json",
                    "text": .string(String(decoding: bytes, as: UTF8.self)),
                ]
            ]
            return Self.resultResponse(id: id, ["contents": contents])
        }
    }

    private func initialize(id: JSONValue, _ params: JSONValue) -> JSONValue {
        let version = Self.negotiatedVersion(params)
        let accepted = phase.withLock { phase -> Bool in
            guard phase == .awaitingInitialize else { return false }
            phase = .initialized(version: version)
            return true
        }
        guard accepted else {
            return Self.errorResponse(
                id: id, code: .invalidRequest, message: "Invalid Request: the session is already initialized")
        }
        if let named = params["clientInfo"].flatMap(Self.agentName(clientInfo:)) {
            agent.withLock { $0 = $0 ?? named }
        }
        return Self.resultResponse(id: id, Self.initializeResult(version: version))
    }

    /// The result of `initialize` for a version.
    static func initializeResult(version: String) -> JSONValue {
        [
            "protocolVersion": .string(version),
            "capabilities": ["tools": ["listChanged": true], "resources": [:]],
            "serverInfo": serverInfo,
        ]
    }

    /// The version `initialize` with these parameters settles on: the client's when served, else the newest.
    private static func negotiatedVersion(_ params: JSONValue) -> String {
        let asked = params["protocolVersion"]?.stringValue
        return asked.flatMap { supportedProtocolVersions.contains($0) ? $0 : nil } ?? supportedProtocolVersions[0]
    }

    // MARK: JSON-RPC framing

    private static func isValidID(_ id: JSONValue) -> Bool {
        switch id {
        case .string, .int, .null: true
        default: false
        }
    }

    /// A JSON-RPC success response.
    public static func resultResponse(id: JSONValue, _ result: JSONValue) -> JSONValue {
        ["jsonrpc": "2.0", "id": id, "result": result]
    }

    /// A JSON-RPC error response.
    public static func errorResponse(id: JSONValue, code: ErrorCode, message: String) -> JSONValue {
        ["jsonrpc": "2.0", "id": id, "error": ["code": .int(code.rawValue), "message": .string(message)]]
    }
}
