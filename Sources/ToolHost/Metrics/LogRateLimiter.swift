import Synchronization

/// Lets through one log line per key per interval and counts the lines it held back, so a flood of one failure
/// (calls of a quarantined plugin failing fast, a tool timing out on every call) costs one line per interval
/// instead of one per call, and the line that does go out says how many were held back.
///
/// Keys are tool names and error codes, a bounded set (unknown tools are never logged this way).
final class LogRateLimiter: Sendable {
    private struct Window {
        var opened: UInt64
        var heldBack: Int
    }

    private let interval: UInt64
    private let now: @Sendable () -> UInt64
    private let windows = Mutex<[String: Window]>([:])

    /// - Parameters:
    ///   - interval: the least time between two lines of one key.
    ///   - now: the monotonic clock in nanoseconds (injected by tests).
    init(interval: Duration, now: @escaping @Sendable () -> UInt64 = monotonicNanoseconds) {
        self.interval = UInt64(CallDeadline.nanoseconds(interval))
        self.now = now
    }

    /// Whether a line for `key` goes out now.
    /// - Returns: nil when it is held back; else how many lines of this key were held back since the last one.
    func admit(_ key: String) -> Int? {
        let time = now()
        return windows.withLock { windows -> Int? in
            guard var window = windows[key], time &- window.opened < interval else {
                let heldBack = windows[key]?.heldBack ?? 0
                windows[key] = Window(opened: time, heldBack: 0)
                return heldBack
            }
            window.heldBack += 1
            windows[key] = window
            return nil
        }
    }
}
