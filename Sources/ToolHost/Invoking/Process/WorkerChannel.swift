#if canImport(Glibc)
    import Glibc
#endif

/// One end of the socketpair between the host and a worker: whole frames in and out, with a deadline.
struct WorkerChannel {
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

    /// Writes a whole frame. Returns false if the other side is gone.
    func write(_ frame: WorkerFrame) -> Bool {
        let bytes = frame.encoded()
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                return false
            }
            written += result
        }
        return true
    }

    /// Reads one frame, waiting at most until `deadline` (CLOCK_MONOTONIC ns; 0 waits forever).
    /// - Parameter spin: how long to poll without sleeping first. The other process answers within tens of
    ///   microseconds when it is awake; waking a thread parked on the other core costs ~35 µs on these VMs.
    func read(deadline: UInt64, maxPayload: Int, spin: UInt64 = 0) -> ReadResult {
        var header = [UInt8](repeating: 0, count: 4)
        if spin > 0 { spinUntilReadable(for: spin) }
        switch fill(&header, deadline: deadline) {
        case .ok: break
        case .timedOut: return .timedOut
        case .closed: return .closed
        }
        let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        guard length <= maxPayload else { return .malformed("a frame of \(length) bytes is over the limit") }
        var payload = [UInt8](repeating: 0, count: length)
        switch fill(&payload, deadline: deadline) {
        case .ok: break
        case .timedOut: return .timedOut
        case .closed: return .closed
        }
        guard let frame = WorkerFrame(payload: payload) else { return .malformed("an unreadable frame") }
        return .frame(frame)
    }

    /// Polls without blocking until the channel (or the peer's exit) is readable or `nanoseconds` pass.
    private func spinUntilReadable(for nanoseconds: UInt64) {
        let end = monotonicNanoseconds() + nanoseconds
        var descriptors = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: peerExit, events: Int16(POLLIN), revents: 0),
        ]
        repeat {
            if poll(&descriptors, peerExit >= 0 ? 2 : 1, 0) != 0 { return }
            sched_yield()  // a runnable thread on this core (another worker, the host) goes first
        } while monotonicNanoseconds() < end
    }

    private enum Fill { case ok, timedOut, closed }

    private func fill(_ buffer: inout [UInt8], deadline: UInt64) -> Fill {
        var filled = 0
        while filled < buffer.count {
            var descriptors = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: peerExit, events: Int16(POLLIN), revents: 0),
            ]
            var timeout: Int32 = -1
            if deadline != 0 {
                let now = monotonicNanoseconds()
                if now >= deadline { return .timedOut }
                timeout = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            }
            let ready = poll(&descriptors, peerExit >= 0 ? 2 : 1, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                return .closed
            }
            if ready == 0 { continue }  // loop re-checks the deadline
            if descriptors[0].revents == 0 && descriptors[1].revents != 0 { return .closed }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .closed
            }
            if count == 0 { return .closed }
            filled += count
        }
        return .ok
    }
}
