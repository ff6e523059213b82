import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether other processes want the machine's cores: sampled at most every 20 ms from the number of runnable
/// threads the kernel reports (the fourth field of `/proc/loadavg`, "runnable/total", the reading thread
/// included). A caller that waits awake never sleeps, so when the cores are all wanted the kernel shares a core
/// between it and another process by time slices, and now and then the call waits a slice (milliseconds)
/// instead of microseconds; a suspended caller is woken ahead of such a process instead. So callers wait awake
/// only while the runnable threads fit in the cores, give or take one: a lone call keeps two threads running
/// (the caller and its plugin thread), and a third that runs for a moment (one of ours, a daemon's) must not
/// switch the waits off.
final class CoreContention: Sendable {
    private let cores: Int
    private let nextSample = Atomic<UInt64>(0)
    private let contended = Atomic<Bool>(false)
    static let sampleIntervalNanoseconds: UInt64 = 20_000_000

    init() {
        cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Whether more threads than the cores and one were runnable at the last sample (taken now if it is stale;
    /// one caller takes it, the others use the last one).
    func isContended(now: UInt64) -> Bool {
        let due = nextSample.load(ordering: .relaxed)
        if now >= due,
            nextSample.compareExchange(
                expected: due, desired: now &+ Self.sampleIntervalNanoseconds, ordering: .relaxed
            ).exchanged
        {
            // Unreadable (not Linux, no procfs): assume the cores are free, as on a quiet machine.
            contended.store((Self.runnableThreads() ?? 0) > cores + 1, ordering: .relaxed)
        }
        return contended.load(ordering: .relaxed)
    }

    /// The runnable threads now ("4/83" in `/proc/loadavg` gives 4), or nil when it cannot be read.
    static func runnableThreads() -> Int? {
        let fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { bytes -> Int? in
            let count = read(fd, bytes.baseAddress, bytes.count)
            return count > 0 ? runnableThreads(loadavg: bytes.prefix(count)) : nil
        }
    }

    /// The number after the third space, up to the slash: 4 in "2.52 2.26 1.85 4/83 8513".
    static func runnableThreads(loadavg text: some Sequence<UInt8>) -> Int? {
        var spaces = 0
        var value = 0
        var digits = 0
        for byte in text {
            if spaces < 3 {
                if byte == UInt8(ascii: " ") { spaces += 1 }
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { break }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
