import ToolHost
import ToolHostJSON

/// The tool part of the Model Context Protocol, independent of the transport: it turns JSON-RPC
/// messages into replies, and `tools/call` requests into pipeline calls.
///
/// Protocol failures (malformed messages, unknown methods, an unknown tool, parameters that are not
/// the right shape) are JSON-RPC errors; a tool that fails is a result with `isError: true` whose text
/// names the error code and message, so the model sees it.
public struct MCPSession: Sendable {
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
        /// Not a valid request object.
        public static let invalidRequest = ErrorCode(rawValue: -32600)
        /// No such method.
        public static let methodNotFound = ErrorCode(rawValue: -32601)
        /// Parameters of the wrong shape, or an unknown tool.
        public static let invalidParams = ErrorCode(rawValue: -32602)
        /// A fault in the server.
        public static let internalError = ErrorCode(rawValue: -32603)
        /// The request's session is unknown or has ended (Streamable HTTP, with status 404).
        public static let sessionNotFound = ErrorCode(rawValue: -32001)
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
        /// Run this call (``run(_:id:)``) and send its response.
        case call(id: JSONValue, ToolCall)
    }

    private let host: ToolHost

    /// - Parameter host: the pipeline every call goes through.
    public init(host: ToolHost) {
        self.host = host
    }

    /// Classifies one parsed message and answers the cheap requests at once.
    /// - Parameter message: one JSON-RPC message.
    /// - Returns: what the transport should do.
    public func classify(_ message: JSONValue) -> Action {
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
        guard let id else {
            if method == "notifications/cancelled", let requestID = object["params"]?["requestId"] {
                return .cancel(requestID)
            }
            return .none
        }
        let params = object["params"] ?? [:]
        switch method {
        case "initialize":
            return .reply(Self.resultResponse(id: id, initializeResult(params)))
        case "ping":
            return .reply(Self.resultResponse(id: id, [:]))
        case "tools/list":
            return .reply(Self.resultResponse(id: id, toolsList()))
        case "tools/call":
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
            return .call(id: id, ToolCall(tool: name, arguments: arguments))
        default:
            return .reply(Self.errorResponse(id: id, code: .methodNotFound, message: "Method not found: \(method)"))
        }
    }

    /// Runs one `tools/call` through the pipeline.
    /// - Returns: the JSON-RPC response.
    public func run(_ call: ToolCall, id: JSONValue) async -> JSONValue {
        switch await host.call(call) {
        case .success(let result):
            var body: JSONObject = ["content": [["type": "text", "text": .string(result.text)]], "isError": false]
            if case .object = result.json { body.set("structuredContent", result.json) }
            return Self.resultResponse(id: id, .object(body))
        case .failure(let error) where error.code == .notFound:
            return Self.errorResponse(id: id, code: .invalidParams, message: "Unknown tool: \(error.message)")
        case .failure(let error):
            var text = "\(error.code): \(error.message)"
            for violation in error.violations { text += "\n\(violation.path): \(violation.message)" }
            let body: JSONValue = ["content": [["type": "text", "text": .string(text)]], "isError": true]
            return Self.resultResponse(id: id, body)
        }
    }

    // MARK: methods

    private func initializeResult(_ params: JSONValue) -> JSONValue {
        let asked = params["protocolVersion"]?.stringValue
        let version = asked.flatMap { Self.supportedProtocolVersions.contains($0) ? $0 : nil }
        return [
            "protocolVersion": .string(version ?? Self.supportedProtocolVersions[0]),
            "capabilities": ["tools": ["listChanged": true]],
            "serverInfo": Self.serverInfo,
        ]
    }

    private func toolsList() -> JSONValue {
        let tools = host.tools().map { info -> JSONValue in
            let manifest = info.manifest
            var annotations: JSONObject = [:]
            annotations.set("idempotentHint", .bool(manifest.deterministic || manifest.idempotent))
            // A deterministic tool answers from its arguments alone: it changes nothing.
            if manifest.deterministic { annotations.set("readOnlyHint", true) }
            return [
                "name": .string(info.name), "description": .string(manifest.description),
                "inputSchema": manifest.inputSchema, "annotations": .object(annotations),
            ]
        }
        return ["tools": .array(tools)]
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
