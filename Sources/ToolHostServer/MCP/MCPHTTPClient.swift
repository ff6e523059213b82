import NIOCore

/// The client an MCP session over HTTP belongs to: whose share of the session table it counts against
/// (``MCPHTTPTransport/Configuration/maxSessionsPerClient``) and who alone may use or end it.
///
/// A named token names the client (its agent; `X-Toolhost-Agent` refinements do not make new clients, or one token
/// could open as many shares as it likes). Without one (no token, or the one unnamed token of the original
/// format), the peer's IP address does; a peer with no known address falls into one shared bucket. So on loopback
/// without named tokens every local client is one client: give agents named tokens to keep them apart.
struct MCPHTTPClient: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        /// A named token's agent.
        case agent(String)
        /// The peer's IP address (the port is not part of it: a client's connections come from many ports).
        case address(String)
        /// Neither is known.
        case unidentified
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }

    /// The client of a request: the named token it carried, else the address it came from.
    init(token: AccessTokens.Token?, remoteAddress: SocketAddress?) {
        if let agent = token?.agent {
            kind = .agent(agent)
        } else if let address = remoteAddress?.ipAddress {
            kind = .address(address)
        } else {
            kind = .unidentified
        }
    }

    var description: String {
        switch kind {
        case .agent(let name): "agent '\(name)'"
        case .address(let address): "address \(address)"
        case .unidentified: "clients without a token or address"
        }
    }
}
