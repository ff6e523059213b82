import Foundation
import ToolHost
import ToolHostJSON

/// The bearer tokens the HTTP server accepts, read from the token file.
///
/// The file holds either one token (its whole text, white space around it ignored: the original format), or a JSON
/// object naming an agent per token:
///
/// ```json
/// {"tokens": [
///   {"token": "…32+ random characters…", "agent": "planner"},
///   {"token": "…", "agent": "fleet", "tools": ["text.*", "math.add"], "agentHeader": true}
/// ]}
/// ```
///
/// `agent` names whoever holds the token in statistics, metrics and logs; `tools` (name patterns, `*` matching any
/// run of characters) limits the tools it may call and see; `agentHeader: true` lets its requests refine the name
/// with `X-Toolhost-Agent` (`fleet/worker-3`). A token of the original format names no agent: the caller's
/// `X-Toolhost-Agent` or MCP `clientInfo` name does.
public struct AccessTokens: Sendable {
    /// One accepted token and what it allows.
    public struct Token: Sendable {
        /// The secret the `Authorization: Bearer` header carries.
        public var secret: [UInt8]
        /// The agent it names; nil for a token of the original one-token format.
        public var agent: String?
        /// The tools it may call; nil: every tool.
        public var tools: ToolPatterns?
        /// Whether its requests may refine the agent's name with `X-Toolhost-Agent`.
        public var agentHeader: Bool

        public init(secret: String, agent: String? = nil, tools: ToolPatterns? = nil, agentHeader: Bool = false) {
            self.secret = Array(secret.utf8)
            self.agent = agent
            self.tools = tools
            self.agentHeader = agentHeader
        }
    }

    /// Every accepted token.
    public var tokens: [Token]

    public init(_ tokens: [Token]) {
        self.tokens = tokens
    }

    /// The token a command of this CLI sends to a daemon that reads the same file (`cache`, `insights`, `top`):
    /// the first one.
    public var clientToken: String {
        String(decoding: tokens[0].secret, as: UTF8.self)
    }

    /// The shortest secret the JSON format accepts: a shorter one can be guessed.
    public static let minimumSecretLength = 16

    /// Reads a token file's text.
    /// - Throws: a message naming the entry and field at fault and what to write instead.
    public init(fileText text: String) throws(TokenFileError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw TokenFileError("is empty") }
        guard trimmed.hasPrefix("{") else {
            // The original format: the whole text is the one token.
            self.init([Token(secret: trimmed)])
            return
        }
        let root: JSONValue
        do {
            root = try JSONValue.parse(trimmed)
        } catch {
            throw TokenFileError("starts with '{' but is not valid JSON: \(error)")
        }
        guard let object = root.objectValue else { throw TokenFileError("must be a JSON object") }
        for key in object.keys where key != "tokens" {
            throw TokenFileError("has an unknown field '\(key)': only \"tokens\" is read")
        }
        guard let entries = object["tokens"]?.arrayValue, !entries.isEmpty else {
            throw TokenFileError(
                "needs \"tokens\": a non-empty array of {\"token\", \"agent\", \"tools\"?, \"agentHeader\"?}")
        }
        var tokens: [Token] = []
        var seen = Set<[UInt8]>()
        for (index, entry) in entries.enumerated() {
            let token = try Self.token(entry, at: "tokens[\(index)]")
            guard seen.insert(token.secret).inserted else {
                throw TokenFileError("tokens[\(index)].token repeats an earlier token: give each agent its own")
            }
            tokens.append(token)
        }
        self.init(tokens)
    }

    private static func token(_ entry: JSONValue, at path: String) throws(TokenFileError) -> Token {
        guard let object = entry.objectValue else { throw TokenFileError("\(path) must be an object") }
        let known: Set<String> = ["token", "agent", "tools", "agentHeader"]
        for key in object.keys where !known.contains(key) {
            throw TokenFileError("\(path) has an unknown field '\(key)' (known: token, agent, tools, agentHeader)")
        }
        guard let secret = object["token"]?.stringValue else {
            throw TokenFileError("\(path).token must be a string")
        }
        guard secret.utf8.count >= minimumSecretLength, !secret.contains(where: \.isWhitespace) else {
            throw TokenFileError(
                "\(path).token must be at least \(minimumSecretLength) characters without spaces "
                    + "(for example the output of `openssl rand -hex 32`)")
        }
        guard let agent = object["agent"]?.stringValue, ToolCall.isValidAgentName(agent) else {
            throw TokenFileError(
                "\(path).agent must name the agent: 1 to 64 letters, digits and _ . - : @ /, starting with a letter "
                    + "or digit")
        }
        var tools: ToolPatterns?
        if let value = object["tools"] {
            guard let patterns = value.arrayValue?.compactMap(\.stringValue), patterns.count == value.arrayValue?.count,
                !patterns.isEmpty
            else {
                throw TokenFileError("\(path).tools must be a non-empty array of tool name patterns (\"text.*\")")
            }
            do throws(ToolPatterns.Invalid) {
                tools = try ToolPatterns(patterns)
            } catch {
                throw TokenFileError("\(path).tools: \(error.message)")
            }
        }
        var agentHeader = false
        if let value = object["agentHeader"] {
            guard let flag = value.boolValue else { throw TokenFileError("\(path).agentHeader must be true or false") }
            agentHeader = flag
        }
        return Token(secret: secret, agent: agent, tools: tools, agentHeader: agentHeader)
    }

    /// The token a request's `Authorization` value carries, compared in constant time against every token (so the
    /// time says nothing about which, or how much of one, matched).
    func match(authorization header: String) -> Token? {
        guard let given = Self.bearerCredentials(header) else { return nil }
        var found: Token?
        for token in tokens where Self.equalInConstantTime(given, token.secret) { found = token }
        return found
    }

    /// The credentials of an `Authorization` value whose scheme is `Bearer` in any case (RFC 7235 §2.1), after one
    /// or more spaces.
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

/// What is wrong with a token file (the daemon names the file before it).
public struct TokenFileError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Tool name patterns: `*` matches any run of characters (dots included), everything else itself.
public struct ToolPatterns: Sendable, Equatable {
    /// The patterns as written.
    public let patterns: [String]

    /// Why a pattern was refused.
    public struct Invalid: Error, Sendable {
        public let message: String
    }

    public init(_ patterns: [String]) throws(Invalid) {
        for pattern in patterns {
            let allowed = pattern.utf8.allSatisfy { byte in
                byte == UInt8(ascii: "*") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39)
                    || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
            }
            guard !pattern.isEmpty, pattern.utf8.count <= 200, allowed else {
                throw Invalid(
                    message: "'\(pattern)' is not a tool name pattern: letters, digits, '.', '_', '-' and '*' only")
            }
        }
        self.patterns = patterns
    }

    /// Whether `name` matches any of the patterns.
    public func matches(_ name: String) -> Bool {
        let text = Array(name.utf8)
        return patterns.contains { Self.glob(Array($0.utf8), text) }
    }

    /// `*`-only glob in linear time: on a mismatch, go back to the last star and let it take one more byte.
    private static func glob(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        var p = 0
        var t = 0
        var star: Int?
        var resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = t
                p += 1
            } else if p < pattern.count, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
