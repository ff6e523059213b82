import Glibc

/// One end of the socketpair between the host and a worker: whole frames in and out, with a deadline.
///
/// Frames are encoded into and received into buffers the channel keeps, so framing allocates nothing, and a
/// frame that is already there (or arrives while the reader polls) costs one `recv`: the reader asks the socket
/// first and sleeps in `poll` only when there is nothing to read. Used by one thread at a time.
final class WorkerChannel {
    enum ReadResult {
        case frame(WorkerFrame)
        /// The deadline passed first.
        case timedOut
        /// The other side closed the channel (it exited or was killed).
        case closed
        /// The bytes were not a valid frame, or the frame was over the size limit.
        case malformed(String)
    }

    let fd: Int32
    /// How long each side polls for the other's next frame before it sleeps in `poll`.
    static let spinNanoseconds: UInt64 = 60_000
    /// A pidfd of the process at the other end (readable once it exits), or -1. A child the plugin forked may
    /// hold the channel open after the worker died, so its death is watched directly, not only through EOF.
    var peerExit: Int32 = -1

    /// What a receive asks for at least; the buffer grows for a larger frame and shrinks back after it.
    private static let receiveBytes = 64 * 1024
    private var outgoing: [UInt8] = []
    /// Received bytes not yet taken as frames: `incoming[0..<received]`.
    private var incoming = [UInt8](repeating: 0, count: WorkerChannel.receiveBytes)
    private var received = 0

    init(fd: Int32) {
        self.fd = fd
    }

    /// Writes a whole frame. Returns false if the other side is gone.
    func write(_ frame: WorkerFrame) -> Bool {
        outgoing.removeAll(keepingCapacity: outgoing.capacity <= 1 << 20)
        frame.encode(into: &outgoing)
        return outgoing.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let result = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += result
            }
            return true
        }
    }

    /// Reads one frame, waiting at most until `deadline` (CLOCK_MONOTONIC ns; 0 waits forever).
    /// - Parameter spin: how long to poll without sleeping first. The other process answers within tens of
    ///   microseconds when it is awake; waking a thread parked on the other core costs ~35 µs on these VMs.
    func read(deadline: UInt64, maxPayload: Int, spin: UInt64 = 0) -> ReadResult {
        var spinUntil: UInt64 = 0
        if spin > 0 { spinUntil = monotonicNanoseconds() &+ spin }
        while true {
            var wanted = 4
            if received >= 4 {
                let length = incoming.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
                guard length <= maxPayload else { return .malformed("a frame of \(length) bytes is over the limit") }
                wanted = 4 + length
                if received >= wanted {
                    let frame = WorkerFrame(payload: incoming[4..<wanted])
                    consume(wanted)
                    guard let frame else { return .malformed("an unreadable frame") }
                    return .frame(frame)
                }
            }
            if incoming.count < wanted {
                incoming.append(contentsOf: repeatElement(0, count: wanted - incoming.count))
            }
            switch receive(deadline: deadline, spinUntil: &spinUntil) {
            case .ok: continue
            case .timedOut: return .timedOut
            case .closed: return .closed
            }
        }
    }

    /// Drops the first `count` received bytes (a frame that was read).
    private func consume(_ count: Int) {
        let rest = received - count
        if rest > 0 {
            incoming.withUnsafeMutableBytes { buffer in
                let base = buffer.baseAddress!
                base.copyMemory(from: base + count, byteCount: rest)
            }
        }
        received = rest
        if incoming.count > 1 << 20 && rest <= Self.receiveBytes {
            incoming = Array(incoming[0..<Self.receiveBytes])
        }
    }

    private enum Fill { case ok, timedOut, closed }

    /// Receives whatever is available (at least one byte), polling without sleeping until `spinUntil`, then
    /// sleeping in `poll` until `deadline`.
    private func receive(deadline: UInt64, spinUntil: inout UInt64) -> Fill {
        if incoming.count - received < Self.receiveBytes / 4 {
            incoming.append(contentsOf: repeatElement(0, count: Self.receiveBytes))
        }
        while true {
            let count = incoming.withUnsafeMutableBytes { buffer in
                recv(fd, buffer.baseAddress! + received, buffer.count - received, Int32(MSG_DONTWAIT))
            }
            if count > 0 {
                received += count
                return .ok
            }
            if count == 0 { return .closed }
            if errno == EINTR { continue }
            if errno != EAGAIN && errno != EWOULDBLOCK { return .closed }
            if spinUntil != 0 {
                if monotonicNanoseconds() < spinUntil {
                    sched_yield()  // a runnable thread on this core (another worker, the host) goes first
                    continue
                }
                spinUntil = 0
            }
            var descriptors = (
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: peerExit, events: Int16(POLLIN), revents: 0)
            )
            var timeout: Int32 = -1
            if deadline != 0 {
                let now = monotonicNanoseconds()
                if now >= deadline { return .timedOut }
                timeout = Int32(min(UInt64(Int32.max), (deadline - now) / 1_000_000 + 1))
            }
            let ready = withUnsafeMutableBytes(of: &descriptors) { raw in
                poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), peerExit >= 0 ? 2 : 1, timeout)
            }
            if ready < 0 {
                if errno == EINTR { continue }
                return .closed
            }
            if ready == 0 { continue }  // the next round re-checks the deadline
            if descriptors.0.revents == 0 && descriptors.1.revents != 0 { return .closed }
        }
    }
}
