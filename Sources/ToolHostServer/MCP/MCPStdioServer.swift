import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ToolHost
import ToolHostJSON

/// An MCP server over a pair of file descriptors (newline-delimited JSON-RPC 2.0, as MCP's stdio transport
/// specifies), as a `Service`.
///
/// Input is read on a thread of its own (never on Swift's cooperative pool). Cheap requests (`initialize`, `ping`,
/// `tools/list`) are answered on that thread; each `tools/call` runs in a `Task` of its own, so calls run
/// concurrently and their responses are written as they complete. Output goes through a queue to a writer thread of
/// its own, so a client that reads slowly blocks that thread only; messages queued together go out in one `write`.
///
/// Bounded: a line longer than `maxLineBytes` is discarded up to its newline and answered with an error; while more
/// than `maxPendingOutputBytes` of output wait for a client that does not read, no more input is read
/// (back-pressure: its calls' answers would only pile up).
///
/// The server ends when the input reaches end of file, or on graceful shutdown (SIGTERM): it stops reading, lets
/// the calls in flight finish (they are cancelled, and answered as such, if the group's grace period passes first),
/// writes what is queued, and returns.
public final class MCPStdioServer: Service, Sendable {
    /// Limits of the transport.
    public struct Limits: Sendable {
        /// The longest message line accepted, in bytes.
        public var maxLineBytes = 1 << 20
        /// Output queued for the client past which no more input is read.
        public var maxPendingOutputBytes = 16 << 20

        public init() {}
    }

    private let host: ToolHost
    private let dispatcher: MCPDispatcher
    private let input: Int32
    private let limits: Limits
    private let logger: Logger
    private let writer: MCPOutputWriter
    private let state = Mutex(State())
    /// Written to end the reading thread's wait (graceful shutdown).
    private let stopPipe: (read: Int32, write: Int32)

    private struct State {
        var inFlight: [String: Task<Void, Never>] = [:]
        /// Request ids the client cancelled: their calls get no response (MCP: the receiver should not answer).
        var cancelledByClient: Set<String> = []
    }

    /// - Parameters:
    ///   - host: the pipeline every call goes through.
    ///   - input: the descriptor requests arrive on.
    ///   - output: the descriptor responses are written to; keep it private to the protocol.
    ///   - limits: the longest line and the most output held for a client that does not read.
    ///   - results: where whole results shaped to a budget are kept, for `resources/read`.
    ///   - resultContent: whether tool results carry text, structured content, or both.
    ///   - logger: where protocol problems are logged.
    public init(
        host: ToolHost, input: Int32, output: Int32, limits: Limits = Limits(), results: ResultStore = ResultStore(),
        resultContent: MCPResultContent = .both, logger: Logger = Logger(label: "toolhost.mcp")
    ) {
        self.host = host
        self.dispatcher = MCPDispatcher(
            host: host, results: results, owner: "mcp-stdio", resultContent: resultContent)
        self.input = input
        self.limits = limits
        self.writer = MCPOutputWriter(descriptor: output, logger: logger)
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0 {
            fds = [-1, -1]
        }
        self.stopPipe = (fds[0], fds[1])
    }

    deinit {
        if stopPipe.read >= 0 { close(stopPipe.read) }
        if stopPipe.write >= 0 { close(stopPipe.write) }
    }

    /// Serves until the input ends or a graceful shutdown, then waits for the calls in flight and the output.
    public func run() async throws {
        writer.start()
        let observation = host.observeToolChanges { [self] in
            if dispatcher.isInitialized { send(MCPDispatcher.toolsListChanged) }
        }
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread { [self] in
                    readLoop()
                    continuation.resume()
                }
                thread.name = "toolhost-mcp-stdin"
                thread.start()
            }
        } onGracefulShutdown: { [stopPipe] in
            var byte: UInt8 = 1
            _ = write(stopPipe.write, &byte, 1)
        }
        // The calls in flight finish; if the group is cancelled (the grace period passed), they are cancelled and
        // answered as such.
        await withTaskCancellationHandler {
            while let next = state.withLock({ $0.inFlight.values.first }) { await next.value }
        } onCancel: {
            for task in state.withLock({ Array($0.inFlight.values) }) { task.cancel() }
        }
        observation.cancel()
        await writer.finish()
    }

    // MARK: reading

    private func readLoop() {
        var pending: [UInt8] = []
        var discarding = false
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            // Back-pressure: a client that does not read its answers gets no more of its requests read.
            if !writer.waitForRoom(below: limits.maxPendingOutputBytes, orStop: stopPipe.read) { return }
            guard waitForInput() else { return }
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                logger.error("mcp: reading the input failed", metadata: ["errno": "\(errno)"])
                return
            }
            if count == 0 {
                if !pending.isEmpty && !discarding { handleLine(pending[...]) }
                return
            }
            var start = 0
            for index in 0..<count where buffer[index] == 0x0A {
                if discarding {
                    discarding = false
                } else if pending.isEmpty {
                    handleLine(buffer[start..<index])
                } else if pending.count + (index - start) > limits.maxLineBytes {
                    refuseLongLine()
                } else {
                    pending.append(contentsOf: buffer[start..<index])
                    handleLine(pending[...])
                }
                pending.removeAll(keepingCapacity: pending.capacity <= limits.maxLineBytes)
                start = index + 1
            }
            if start < count && !discarding {
                pending.append(contentsOf: buffer[start..<count])
                if pending.count > limits.maxLineBytes {
                    // Too long: drop it up to its newline and say so (the id is in the part dropped).
                    discarding = true
                    pending = []
                    refuseLongLine()
                }
            }
        }
    }

    /// Answers a line over the cap (its id is unknown: it is in the part dropped).
    private func refuseLongLine() {
        send(
            MCPDispatcher.errorResponse(
                id: .null, code: .invalidRequest,
                message: "Invalid Request: a message line over \(limits.maxLineBytes) bytes was discarded"))
    }

    /// Waits until the input is readable (or at its end); false when the server is stopping.
    private func waitForInput() -> Bool {
        var descriptors = (
            pollfd(fd: input, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0)
        )
        while true {
            let ready = withUnsafeMutableBytes(of: &descriptors) { raw in
                poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), stopPipe.read >= 0 ? 2 : 1, -1)
            }
            if ready < 0 {
                if errno == EINTR { continue }
                return true  // let read(2) report the problem
            }
            if descriptors.1.revents != 0 { return false }
            return true
        }
    }

    private func handleLine(_ line: ArraySlice<UInt8>) {
        var trimmed = line
        while let last = trimmed.last, last == 0x0D || last == 0x20 || last == 0x09 { trimmed.removeLast() }
        while let first = trimmed.first, first == 0x20 || first == 0x09 { trimmed.removeFirst() }
        if trimmed.isEmpty { return }
        let message: JSONValue
        do {
            message = try JSONValue.parse(trimmed)
        } catch {
            send(MCPDispatcher.errorResponse(id: .null, code: .parseError, message: "Parse error: \(error)"))
            return
        }
        switch dispatcher.handle(message) {
        case .reply(let response):
            send(response)
        case .none:
            break
        case .cancel(let requestID):
            let key = requestID.serializedString
            let task = state.withLock { state -> Task<Void, Never>? in
                guard let task = state.inFlight[key] else { return nil }
                state.cancelledByClient.insert(key)
                return task
            }
            task?.cancel()
        case .call(let id, let call, let progressToken):
            let key = id.serializedString
            // Registered before the reader moves on, so a later cancellation always finds it.
            state.withLock { registry in
                registry.inFlight[key] = Task { [self] in
                    let response = await dispatcher.run(call, id: id, progressToken: progressToken) { [self] in
                        send($0)
                    }
                    let answer = state.withLock { current in
                        current.inFlight[key] = nil
                        return current.cancelledByClient.remove(key) == nil
                    }
                    if answer { send(response) }
                }
            }
        }
    }

    // MARK: writing

    private func send(_ message: JSONValue) {
        var bytes = message.serialized()
        bytes.append(0x0A)
        writer.enqueue(bytes)
    }
}
