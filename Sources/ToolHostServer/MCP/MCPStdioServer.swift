import Foundation
import Logging
import Synchronization
import ToolHost
import ToolHostJSON

#if canImport(Glibc)
    import Glibc
#endif

/// An MCP server over a pair of file descriptors (newline-delimited JSON-RPC 2.0, as MCP's stdio
/// transport specifies).
///
/// Input is read with blocking `read` on a thread of its own (never on Swift's cooperative pool, and
/// never by polling). Cheap requests (`initialize`, `ping`, `tools/list`) are answered on that thread;
/// each `tools/call` runs in a `Task` of its own, so calls run concurrently and their responses are
/// written as they complete. Output goes through a queue to a writer thread of its own, so a client that
/// reads slowly (a full pipe) blocks that thread only, never Swift's cooperative pool; messages queued
/// together go out in one `write`. After `initialize`, a change of the tool set is sent as
/// `notifications/tools/list_changed`.
public final class MCPStdioServer: Sendable {
    private let host: ToolHost
    private let session: MCPSession
    private let input: Int32
    private let logger: Logger
    private let writer: MCPOutputWriter
    private let inFlight = Mutex<[String: Task<Void, Never>]>([:])
    private let initialized = Atomic<Bool>(false)

    /// - Parameters:
    ///   - host: the pipeline every call goes through.
    ///   - input: the descriptor requests arrive on (blocking reads).
    ///   - output: the descriptor responses are written to; keep it private to the protocol.
    ///   - logger: where protocol problems are logged.
    public init(host: ToolHost, input: Int32, output: Int32, logger: Logger = Logger(label: "toolhost.mcp")) {
        self.host = host
        self.session = MCPSession(host: host)
        self.input = input
        self.writer = MCPOutputWriter(descriptor: output, logger: logger)
        self.logger = logger
    }

    /// Serves until the input reaches end of file, then waits for the calls in flight to finish and their
    /// responses to be written.
    public func run() async {
        writer.start()
        let observation = host.observeToolChanges { [self] in
            if initialized.load(ordering: .acquiring) { send(MCPSession.toolsListChanged) }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                readLoop()
                continuation.resume()
            }
            thread.name = "toolhost-mcp-stdin"
            thread.start()
        }
        let remaining = inFlight.withLock { Array($0.values) }
        for task in remaining { await task.value }
        observation.cancel()
        await writer.finish()
    }

    // MARK: reading

    private func readLoop() {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                logger.error("mcp: reading the input failed", metadata: ["errno": "\(errno)"])
                return
            }
            if count == 0 {
                if !pending.isEmpty { handleLine(pending[...]) }
                return
            }
            var start = 0
            for index in 0..<count where buffer[index] == 0x0A {
                if pending.isEmpty {
                    handleLine(buffer[start..<index])
                } else {
                    pending.append(contentsOf: buffer[start..<index])
                    handleLine(pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
                start = index + 1
            }
            if start < count { pending.append(contentsOf: buffer[start..<count]) }
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
            send(MCPSession.errorResponse(id: .null, code: .parseError, message: "Parse error: \(error)"))
            return
        }
        switch session.classify(message) {
        case .reply(let response):
            send(response)
            if message["method"]?.stringValue == "initialize" { initialized.store(true, ordering: .releasing) }
        case .none:
            break
        case .cancel(let requestID):
            let task = inFlight.withLock { $0[requestID.serializedString] }
            task?.cancel()
        case .call(let id, let call):
            let key = id.serializedString
            // Registered before the reader moves on, so a later cancellation always finds it.
            inFlight.withLock { tasks in
                let task = Task { [self] in
                    let response = await session.run(call, id: id)
                    inFlight.withLock { _ = $0.removeValue(forKey: key) }
                    // A cancelled request gets no response (MCP: the receiver should not answer it).
                    if !Task.isCancelled { send(response) }
                }
                tasks[key] = task
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
