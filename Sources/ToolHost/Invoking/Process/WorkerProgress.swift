import Glibc

/// The worker side of a call's progress: the handler's reports, coalesced, forwarded to the host as
/// ``WorkerFrame/progress(_:)`` frames by a thread of its own, at most one every ``interval``.
///
/// Invariant: every frame on the channel is written under `lock`, and a call's result is written under it right
/// after the call is marked ended (``end(writing:)``), so no progress frame of a call ever follows its result (the
/// host would read it as part of the next call). The handler's thread only stores the latest report and, when none
/// was pending, signals the sender: it never writes to the socket.
final class WorkerProgress: ProgressSink, @unchecked Sendable {
    /// The least time between two progress frames.
    static let interval: UInt32 = 20_000  // microseconds

    private let channel: WorkerChannel
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var latest: ProgressReport?
    private var active = false
    private var senderStarted = false

    init(channel: WorkerChannel) {
        self.channel = channel
    }

    /// Starts forwarding the reports of the call about to run (the sender thread starts with the first such call).
    func begin() {
        let start = lock.withLock {
            latest = nil
            active = true
            defer { senderStarted = true }
            return !senderStarted
        }
        if start { HostThread.start(named: "toolhost-progress", stackSize: 256 << 10) { self.send() } }
    }

    /// Ends the call (a pending report is dropped) and writes its result frame.
    /// - Returns: whether the frame was written (false: the host is gone).
    func end(writing frame: WorkerFrame) -> Bool {
        lock.withLock {
            active = false
            latest = nil
            return channel.write(frame)
        }
    }

    func report(_ report: ProgressReport) -> Bool {
        lock.withLock {
            guard active else { return false }
            if latest == nil { lock.signal() }
            latest = report
            return true
        }
    }

    /// The sender thread: waits for a report, writes it, sleeps out the interval; for the life of the worker.
    private func send() {
        while true {
            lock.lock()
            while latest == nil { lock.wait() }
            let report = latest!
            latest = nil
            // A host that is gone shows in the main loop's next read; nothing to do here.
            _ = channel.write(.progress(report))
            lock.unlock()
            usleep(Self.interval)
        }
    }
}
