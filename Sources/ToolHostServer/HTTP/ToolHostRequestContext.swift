import Hummingbird
import NIOCore

/// The request context of the REST and MCP server: Hummingbird's basic context plus the peer's address, which
/// tells MCP clients apart where no named token does (``MCPHTTPClient``).
struct ToolHostRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    /// The address of the connection's peer (nil when the channel no longer knows it).
    let remoteAddress: SocketAddress?

    init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
