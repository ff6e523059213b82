import Foundation
import Logging
import ToolHost

/// Everything toolhost runs with, one model for every command (`list`, `call`, `batch`, `check`, `mcp`, `serve`).
///
/// Each setting is taken from the first source that gives it: command-line flags, then `TOOLHOST_*` environment
/// variables, then the JSON config file (`--config FILE` or `$TOOLHOST_CONFIG`), then the defaults. Per-plugin caps
/// (`pluginOverrides`) come from the file only. Every setting has one key, one variable, one flag, one unit and one
/// range (``Settings/table``); reading them lives in `Settings+Reading.swift`. A value that cannot be used is
/// refused with a ``SettingsError`` naming the source and the key; nothing is ignored.
public struct Settings: Sendable {
    /// The host's configuration: plugins, limits, timeouts, the cache, isolation and the operator's caps.
    public var host: ToolHost.Configuration
    /// The HTTP daemon's settings (used by `serve`; read and checked by every command, so a bad one is caught early).
    public var http = HTTP()
    /// The store of whole results answered shaped to a caller's budget (the daemons: REST and MCP).
    public var results = ResultStore.Configuration()
    /// What MCP tool results carry: the result as text, as structured content, or both (the default).
    public var mcpResultContent = MCPResultContent.both
    /// What the daemons observe of themselves (`serve`, `mcp`).
    public var observability = Observability()
    /// Where the daemons send each call's spans (`serve`, `mcp`); off unless an endpoint is set.
    public var traces = Traces()
    /// The level of the log on stderr.
    public var logLevel: Logger.Level
    /// Where the settings came from, for the startup line: the config file, "environment", "flags" (empty: the
    /// defaults alone).
    public var sources: [String] = []

    /// The HTTP daemon's settings.
    public struct HTTP: Sendable, Equatable {
        /// `HOST:PORT` to listen on (port 0: an ephemeral port).
        public var listen = "127.0.0.1:8080"
        /// A file holding the bearer token every request but `/healthz` must carry.
        public var tokenFile: String?
        /// The largest request body accepted, in bytes (decoded, for a body sent with `Content-Encoding`).
        public var maxBodyBytes = 1 << 20
        /// The smallest JSON answer sent compressed to a client whose `Accept-Encoding` allows it, in bytes.
        public var compressMinBytes = 1024
        /// On SIGTERM or SIGINT, how long calls in flight may take to finish before they are cancelled.
        public var gracePeriod: Duration = .seconds(10)
        /// The most HTTP connections open at once; one over it is answered 503 and closed at once.
        public var maxConnections = 512
        /// How long a connection may stay silent (no request, or a request whose head or body stops arriving)
        /// before it is closed; a call being answered does not count as silence.
        public var idleTimeout: Duration = .seconds(30)
        /// The most MCP sessions over HTTP one client (a named token's agent, else an address) keeps at once.
        public var mcpMaxSessionsPerClient = 64

        public init() {}

        /// `listen` split into host (without brackets) and port.
        public var address: (host: String, port: Int) {
            Self.parseListen(listen) ?? ("127.0.0.1", 8080)
        }

        /// Splits `HOST:PORT` (`[::1]:8080` too).
        /// - Returns: the host without brackets and the port, or nil when it is not that shape.
        public static func parseListen(_ text: String) -> (host: String, port: Int)? {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                (0...65535).contains(port)
            else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
            return (host, port)
        }
    }

    /// What the daemons observe of themselves.
    public struct Observability: Sendable, Equatable {
        /// How often the daemon's resident memory and its workers' are sampled for `GET /v1/insights` (the last
        /// ``MemorySampler/capacity`` samples are kept).
        public var memorySampleInterval: Duration = .seconds(5)
        /// `HOST:PORT` of a listener that serves `GET /metrics` alone (for `toolhost mcp`, whose stdio cannot be
        /// scraped); nil: none. Anything but loopback needs `tokenFile`, whose token it then requires.
        public var metricsListen: String?

        public init() {}
    }

    /// The defaults.
    /// - Parameter logLevel: the default log level: `info` for `serve`, `warning` where stderr belongs to a person
    ///   or an agent (the CLI, `mcp`).
    public init(logLevel: Logger.Level = .info) {
        self.host = ToolHost.Configuration(pluginsDirectory: "plugins")
        self.logLevel = logLevel
    }
}

extension Settings {
    /// Where the daemons send each call's spans, over OTLP/HTTP.
    public struct Traces: Sendable, Equatable {
        /// How spans are encoded on the wire.
        public enum WireProtocol: String, Sendable, CaseIterable {
            /// `application/x-protobuf`, the OTLP/HTTP default.
            case httpProtobuf = "http/protobuf"
            /// `application/json`.
            case httpJSON = "http/json"
        }

        /// The collector's OTLP/HTTP URL: `http://HOST:4318` (spans go to its `/v1/traces`) or a URL with a path,
        /// used as it is. Nil: no spans are made and no exporter runs.
        public var endpoint: String?
        /// The share of calls traced, 0...1; a call whose caller's trace is sampled is always traced, one whose
        /// caller's is not never is (parent-based).
        public var sampleRatio: Double = 1.0
        public var wireProtocol = WireProtocol.httpProtobuf

        public init() {}

        /// `endpoint` with `/v1/traces` added when it names no path.
        public var tracesURL: String? {
            guard let endpoint, let url = URLComponents(string: endpoint) else { return nil }
            if url.path.isEmpty || url.path == "/" {
                return (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/v1/traces"
            }
            return endpoint
        }

        /// Whether `text` is an `http` or `https` URL with a host.
        static func isEndpoint(_ text: String) -> Bool {
            guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
            else { return false }
            return true
        }
    }
}

/// A setting that could not be used: which source, which key, what is wrong with it.
public struct SettingsError: Error, CustomStringConvertible, Sendable {
    /// "config file /etc/toolhost.json", "environment variable TOOLHOST_LISTEN", "command line".
    public let source: String
    /// The key as written in that source (nil: the source as a whole).
    public let key: String?
    /// What is wrong, and what is expected.
    public let message: String

    public init(source: String, key: String?, _ message: String) {
        self.source = source
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key { return "\(source): '\(key)' \(message)" }
        return "\(source): \(message)"
    }
}
