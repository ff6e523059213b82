import Hummingbird
import Synchronization
import ToolHost
import ToolHostJSON

/// One MCP session of the Streamable HTTP transport: its protocol state (an ``MCPDispatcher``), its calls in
/// flight (so `notifications/cancelled` can reach them) and its open `GET` streams (where server-to-client
/// notifications go).
final class MCPHTTPSession: Sendable {
    /// The `Mcp-Session-Id`: 128 random bits from the system's cryptographic generator, as 32 hex digits.
    let id: String
    /// The version `initialize` settled on.
    let protocolVersion: String
    /// The session's protocol state; it answered this session's `initialize`.
    let dispatcher: MCPDispatcher
    /// Who opened it: its agent and token.
    let caller: Caller
    /// The client that opened it (its named token's agent, else its address): only that client, with the same token,
    /// reaches it, and it counts against that client's share of the session table.
    let client: MCPHTTPClient
    /// When a drain's grace passes: calls still running are cut and answered (``MCPDispatcher/run(_:id:)``).
    private let drainDeadline: DrainDeadline?
    /// The clock idleness is measured by (``MCPHTTPTransport/Configuration/now``).
    private let now: @Sendable () -> ContinuousClock.Instant

    private struct State {
        var lastActive: ContinuousClock.Instant
        var calls: [String: Task<JSONValue, Never>] = [:]
        /// Open `GET` streams, oldest first; a message goes to the newest only (the spec forbids broadcasting
        /// one message on several streams).
        var streams: [(id: UInt64, continuation: AsyncStream<ByteBuffer>.Continuation)] = []
        var nextStream: UInt64 = 0
        var observation: ToolChangeObservation?
        var closed = false
    }
    private let state: Mutex<State>

    init(
        id: String, protocolVersion: String, dispatcher: MCPDispatcher, caller: Caller = Caller(),
        client: MCPHTTPClient = MCPHTTPClient(.unidentified), drainDeadline: DrainDeadline? = nil,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.caller = caller
        self.client = client
        self.drainDeadline = drainDeadline
        self.now = now
        self.id = id
        self.protocolVersion = protocolVersion
        self.dispatcher = dispatcher
        self.state = Mutex(State(lastActive: now()))
    }

    /// A new session id: 16 bytes from `SystemRandomNumberGenerator` (getrandom(2) on Linux), in hex.
    static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<2 {
            let word = generator.next() as UInt64
            for shift in stride(from: 60, through: 0, by: -4) {
                bytes.append(digits[Int((word >> UInt64(shift)) & 0xF)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether a request from `client` carrying `caller`'s token may use (or end) the session: the client that
    /// opened it, with the token it opened it with. To any other the session does not exist.
    func belongs(to client: MCPHTTPClient, caller: Caller) -> Bool {
        self.client == client && self.caller.isSameToken(as: caller)
    }

    /// Keeps `observation` until the session ends.
    func hold(_ observation: ToolChangeObservation) {
        let refused = state.withLock { state -> Bool in
            if state.closed { return true }
            state.observation = observation
            return false
        }
        if refused { observation.cancel() }
    }

    /// Marks the session used now.
    func touch() {
        let now = now()
        state.withLock { $0.lastActive = now }
    }

    /// When it was last used, and whether anything is still going on in it (a call or an open stream).
    var activity: (lastActive: ContinuousClock.Instant, busy: Bool) {
        state.withLock { ($0.lastActive, !$0.calls.isEmpty || !$0.streams.isEmpty) }
    }

    // MARK: calls

    /// Runs one `tools/call` in a task of its own, registered under its request id so that
    /// `notifications/cancelled` can cancel it.
    /// - Returns: the response, or nil when the call was cancelled (by the client or by the session's end).
    /// - Parameters:
    ///   - progressToken: the request's progress token, if it had one.
    ///   - notify: sends a message on the request's own stream before its response (progress); nil when the answer
    ///     is plain JSON.
    func run(
        _ call: ToolCall, id: JSONValue, progressToken: JSONValue? = nil,
        notify: (@Sendable (JSONValue) async -> Void)? = nil
    ) async -> JSONValue? {
        let key = id.serializedString
        let dispatcher = self.dispatcher
        let drainDeadline = self.drainDeadline
        let task = Task {
            if let drainDeadline {
                return await drainDeadline.cutting {
                    await dispatcher.run(call, id: id, progressToken: progressToken, notify: notify)
                }
            }
            return await dispatcher.run(call, id: id, progressToken: progressToken, notify: notify)
        }
        let open = state.withLock { state -> Bool in
            if state.closed { return false }
            state.calls[key] = task
            return true
        }
        if !open { task.cancel() }
        let response = await task.value
        let now = now()
        state.withLock { state in
            if state.calls[key] == task { state.calls[key] = nil }
            state.lastActive = now
        }
        // Not `isCancelled ? nil : response`: JSONValue is nil-literal-expressible, so that would be `.null`.
        if task.isCancelled { return Optional<JSONValue>.none }
        return response
    }

    /// Cancels the call in flight with this request id, if there is one.
    func cancel(requestID: JSONValue) {
        let task = state.withLock { $0.calls[requestID.serializedString] }
        task?.cancel()
    }

    // MARK: streams

    /// Opens a server-to-client stream (`GET`).
    /// - Returns: its id and the SSE bytes to write, or nil when the session has ended.
    func openStream() -> (id: UInt64, events: AsyncStream<ByteBuffer>)? {
        let (events, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(256))
        let now = now()
        let id = state.withLock { state -> UInt64? in
            if state.closed { return nil }
            state.nextStream += 1
            state.streams.append((state.nextStream, continuation))
            state.lastActive = now
            return state.nextStream
        }
        guard let id else {
            continuation.finish()
            return nil
        }
        return (id, events)
    }

    /// Forgets a stream whose response ended (the client went away, or the server is stopping).
    func closeStream(_ id: UInt64) {
        let now = now()
        let continuation = state.withLock { state -> AsyncStream<ByteBuffer>.Continuation? in
            guard let index = state.streams.firstIndex(where: { $0.id == id }) else { return nil }
            state.lastActive = now
            return state.streams.remove(at: index).continuation
        }
        continuation?.finish()
    }

    /// Writes raw SSE bytes (a comment, for keep-alive) to one stream.
    func write(_ bytes: ByteBuffer, toStream id: UInt64) {
        let continuation = state.withLock { state in state.streams.first { $0.id == id }?.continuation }
        continuation?.yield(bytes)
    }

    /// Sends a message to the newest open stream.
    /// - Returns: whether a stream took it.
    @discardableResult
    func notify(_ message: JSONValue) -> Bool {
        guard let continuation = state.withLock({ $0.streams.last?.continuation }) else { return false }
        if case .enqueued = continuation.yield(Self.event(message)) { return true }
        return false
    }

    /// One SSE `message` event carrying a JSON-RPC message (compact JSON has no newline to escape).
    static func event(_ message: JSONValue) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeStaticString("event: message\ndata: ")
        buffer.writeBytes(message.serialized())
        buffer.writeStaticString("\n\n")
        return buffer
    }

    // MARK: end

    /// Ends the session: cancels its calls, finishes its streams and stops its tool-change observation.
    func close() {
        let (calls, streams, observation) = state.withLock { state in
            state.closed = true
            defer {
                state.calls = [:]
                state.streams = []
                state.observation = nil
            }
            return (Array(state.calls.values), state.streams.map(\.continuation), state.observation)
        }
        for task in calls { task.cancel() }
        for continuation in streams { continuation.finish() }
        observation?.cancel()
    }
}
