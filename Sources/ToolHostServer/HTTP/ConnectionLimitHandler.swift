import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Keeps the number of open HTTP connections at or under a cap: a connection over it is answered 503
/// (`too_many_connections`, `Retry-After: 1`, `Connection: close`) and closed at once.
///
/// Every connection is accepted, so the listening socket never stays readable with a connection nobody takes
/// (the loop that spun at the descriptor limit); what bounds the descriptors is the cap, set below the process's
/// limit with room for the plugins' work (libraries, worker pipes, files). Hummingbird's own
/// `MaximumAvailableConnections` stops accepting instead: the kernel's backlog then holds new connections, and a
/// real client waits behind idle ones without being told anything.
///
/// One handler per connection (placed after the HTTP codec), sharing one ``Counter``. A connection counts from its
/// pipeline's setup until its close.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// The connections open now, shared by every connection's handler.
    final class Counter: Sendable {
        private let open = Atomic<Int>(0)
        /// Refusals not yet logged, so a flood is logged once per ``logInterval``, not once per connection.
        private let unlogged = Atomic<Int>(0)
        private let lastLog = Mutex<ContinuousClock.Instant?>(nil)
        static let logInterval: Duration = .seconds(10)

        init() {}

        /// The connections open now.
        var current: Int { open.load(ordering: .relaxed) }

        /// Counts a new connection.
        /// - Returns: the count with it.
        func opened() -> Int { open.wrappingAdd(1, ordering: .relaxed).newValue }

        func closed() { open.wrappingSubtract(1, ordering: .relaxed) }

        /// Counts a refusal.
        /// - Returns: the refusals to log now (0: one was logged within ``logInterval``).
        func refused() -> Int {
            unlogged.wrappingAdd(1, ordering: .relaxed)
            let now = ContinuousClock.now
            let due = lastLog.withLock { last in
                if let last, now - last < Self.logInterval { return false }
                last = now
                return true
            }
            return due ? unlogged.exchange(0, ordering: .relaxed) : 0
        }
    }

    private let counter: Counter
    private let maxConnections: Int
    private let logger: Logger
    private var refused = false

    /// - Parameters:
    ///   - counter: the count shared by every connection of the server.
    ///   - maxConnections: the most connections open at once.
    ///   - logger: where refusals are logged (at most once per ``Counter/logInterval``).
    init(counter: Counter, maxConnections: Int, logger: Logger) {
        self.counter = counter
        self.maxConnections = maxConnections
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let open = counter.opened()
        context.channel.closeFuture.whenComplete { [counter] _ in counter.closed() }
        guard open > maxConnections else { return }
        refused = true
        let toLog = counter.refused()
        if toLog > 0 {
            logger.warning(
                "refused \(toLog) connection(s): \(maxConnections) are open (maxConnections)",
                metadata: ["http.connections.max": "\(maxConnections)"])
        }
        if context.channel.isActive { refuse(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if refused {
            refuse(context: context)
        } else {
            context.fireChannelActive()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused connection's request is not read.
        if !refused { context.fireChannelRead(data) }
    }

    /// Answers 503 and closes.
    private func refuse(context: ChannelHandlerContext) {
        let body = ByteBuffer(
            string: #"{"error":{"code":"too_many_connections","message":"the server has its most connections open ("#
                + "\(maxConnections), maxConnections): retry later\"}}")
        let head = HTTPResponse(
            status: .serviceUnavailable,
            headerFields: [
                .contentType: "application/json", .contentLength: "\(body.readableBytes)", .connection: "close",
                .retryAfter: "1",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
