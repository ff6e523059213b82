import Hummingbird
import ToolHost

/// The token the request being handled carried (set by ``BearerTokenMiddleware``; nil without authentication).
enum CallerIdentity {
    @TaskLocal static var token: AccessTokens.Token?
}

/// Who makes a request or runs a session, and what it may call.
///
/// The name comes, first to last: from a named token (refined by `X-Toolhost-Agent` as `<token's agent>/<header>`
/// only when the token allows it); else from `X-Toolhost-Agent`; else, over MCP, from `initialize`'s
/// `clientInfo.name`; else it is ``anonymous``. A token of the original one-token format names no one, and with no
/// token file nothing is authenticated, so there the header names the agent freely.
public struct Caller: Sendable {
    /// The agent's name, when something named it.
    public var agent: String?
    /// The tools it may call (a named token's `tools`); nil: every tool.
    public var tools: ToolPatterns?
    /// The token it authenticated with (an MCP session stays with the token that opened it).
    var token: AccessTokens.Token?

    /// The name of a caller nothing named.
    public static let anonymous = "anonymous"
    /// The header that names (or refines the name of) the agent.
    static let agentHeader = HTTPFields.Element.Name("X-Toolhost-Agent")!

    public init(agent: String? = nil, tools: ToolPatterns? = nil) {
        self.agent = agent
        self.tools = tools
    }

    /// The caller of the request being handled: its token (``CallerIdentity``) and its `X-Toolhost-Agent`.
    /// - Throws: `invalid_arguments` for a header that is not an agent name; `forbidden` for a header under a named
    ///   token that does not allow it.
    static func of(_ request: Request) throws(ToolError) -> Caller {
        try resolve(token: CallerIdentity.token, header: request.headers[agentHeader])
    }

    static func resolve(token: AccessTokens.Token?, header: String?) throws(ToolError) -> Caller {
        var caller = Caller(agent: token?.agent, tools: token?.tools)
        caller.token = token
        guard let header else { return caller }
        guard ToolCall.isValidAgentName(header) else {
            throw ToolError(
                .invalidArguments,
                "header X-Toolhost-Agent must be 1 to 64 letters, digits and _ . - : @ /, starting with a letter or "
                    + "digit")
        }
        if let named = token?.agent {
            guard token?.agentHeader == true else {
                throw ToolError(
                    .forbidden,
                    "the token of agent '\(named)' may not name agents with X-Toolhost-Agent: leave the header out, or "
                        + "give the token \"agentHeader\": true in the token file")
            }
            caller.agent = named + "/" + header
        } else {
            caller.agent = header
        }
        return caller
    }

    /// Whether the caller may call (and see) the tool.
    public func permits(_ tool: String) -> Bool {
        tools?.matches(tool) ?? true
    }

    /// The refusal of a call of `tool` outside the caller's patterns, naming them.
    public func refusal(for tool: String) -> ToolError? {
        guard let tools, !tools.matches(tool) else { return nil }
        return ToolError(
            .forbidden,
            "agent '\(agent ?? Self.anonymous)' may call only tools matching "
                + tools.patterns.joined(separator: ", ") + "; '\(tool)' is not one of them")
    }

    /// Whether this is the caller a session was opened by: the same token (both unauthenticated counts as the same).
    func isSameToken(as other: Caller) -> Bool {
        switch (token, other.token) {
        case (nil, nil): true
        case (let mine?, let theirs?): AccessTokens.equalInConstantTime(mine.secret, theirs.secret)
        default: false
        }
    }
}
