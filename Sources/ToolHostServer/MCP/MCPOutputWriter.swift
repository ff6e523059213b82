import Dispatch
import Foundation
import Glibc
import Logging
import Synchronization

/// Writes byte messages to a descriptor from a thread of its own, in the order they were queued.
///
/// `enqueue` never blocks on the descriptor (it appends under a short lock and wakes the thread if it is
/// parked), so a reader that is slow to drain a pipe stalls this thread only. Messages queued while a write is
/// under way go out together in the next `write`.
final class MCPOutputWriter: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var parked = false
        var closed = false
        var exited = false
        var failed = false
        var onExit: CheckedContinuation<Void, Never>?
        /// Bytes queued or being written (what a client that does not read leaves here).
        var held = 0
        /// Whether a reader waits in `waitForRoom` for `held` to drop.
        var roomWanted = false
    }
    private let descriptor: Int32
    private let logger: Logger
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let room = DispatchSemaphore(value: 0)

    init(descriptor: Int32, logger: Logger) {
        self.descriptor = descriptor
        self.logger = logger
    }

    /// Starts the writer thread.
    func start() {
        let thread = Thread { [self] in writeLoop() }
        thread.name = "toolhost-mcp-stdout"
        thread.start()
    }

    /// Queues one message (whole: it is never interleaved with another).
    func enqueue(_ bytes: [UInt8]) {
        let signal = state.withLock { state -> Bool in
            if state.closed || state.failed { return false }
            state.pending.append(contentsOf: bytes)
            state.held += bytes.count
            defer { state.parked = false }
            return state.parked
        }
        if signal { wake.signal() }
    }

    /// Writes what is queued, then stops the thread; returns when it has.
    func finish() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (signal, exited) = state.withLock { state -> (Bool, Bool) in
                state.closed = true
                if state.exited { return (false, true) }
                state.onExit = continuation
                defer { state.parked = false }
                return (state.parked, false)
            }
            if exited { continuation.resume() }
            if signal { wake.signal() }
        }
    }

    /// Blocks the calling thread (never a cooperative one) until fewer than `limit` bytes are held for the client,
    /// or until `stop` becomes readable.
    /// - Returns: false when `stop` ended the wait.
    func waitForRoom(below limit: Int, orStop stop: Int32) -> Bool {
        while true {
            let full = state.withLock { state -> Bool in
                if state.held < limit || state.failed || state.exited { return false }
                state.roomWanted = true
                return true
            }
            if !full { return true }
            if room.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                var descriptor = pollfd(fd: stop, events: Int16(POLLIN), revents: 0)
                if stop >= 0, poll(&descriptor, 1, 0) > 0 { return false }
            }
        }
    }

    private func writeLoop() {
        var batch: [UInt8] = []
        while true {
            let next = state.withLock { state -> Bool? in
                if state.pending.isEmpty {
                    if state.closed { return nil }
                    state.parked = true
                    return false
                }
                // Double buffering: the queue gets the emptied buffer of the last write, capacity kept.
                swap(&batch, &state.pending)
                return true
            }
            guard let next else { break }
            if !next {
                wake.wait()
                continue
            }
            let failed = !write(batch)
            let written = batch.count
            let signal = state.withLock { state -> Bool in
                if failed { state.failed = true }
                state.held -= written
                defer { state.roomWanted = false }
                return state.roomWanted
            }
            if signal { room.signal() }
            batch.removeAll(keepingCapacity: batch.capacity <= 1 << 20)
        }
        let continuation = state.withLock { state in
            state.exited = true
            defer { state.onExit = nil }
            return state.onExit
        }
        continuation?.resume()
    }

    private func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    logger.error(
                        "mcp: writing to the client failed; later output is dropped", metadata: ["errno": "\(errno)"])
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
