/// Events counted in fixed-size time buckets: how many happened in the last few buckets' time, in memory fixed at
/// creation however long the host runs.
///
/// Invariant: slot `i` holds the count of bucket number `stamps[i]` (time divided by the width), and only bucket
/// numbers `≡ i (mod slots)`; a slot is reset when its number comes round again. A bucket older than the window
/// is never summed, whatever its slot still holds.
struct WindowedCounter: Sendable {
    /// The width of a bucket, in nanoseconds.
    let width: UInt64
    private var stamps: [UInt64]
    private var counts: [Int]

    /// - Parameters:
    ///   - buckets: how many buckets are kept: the window is `buckets × width`.
    ///   - width: the time one bucket covers (at least a millisecond).
    init(buckets: Int, width: Duration) {
        let (seconds, attoseconds) = width.components
        self.width = max(1_000_000, UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
        stamps = Array(repeating: .max, count: max(1, buckets))
        counts = Array(repeating: 0, count: max(1, buckets))
    }

    /// The window it covers, in buckets.
    var buckets: Int { stamps.count }

    /// Counts `count` events at `now` (nanoseconds of a monotonic clock).
    mutating func add(_ count: Int = 1, at now: UInt64) {
        let bucket = now / width
        let slot = Int(bucket % UInt64(stamps.count))
        if stamps[slot] != bucket {
            stamps[slot] = bucket
            counts[slot] = 0
        }
        counts[slot] += count
    }

    /// The events of the last `last` buckets up to `now`.
    /// - Parameters:
    ///   - now: nanoseconds of the clock `add` was given.
    ///   - last: how many buckets, at most ``buckets`` (nil: all of them).
    ///   - includingCurrent: whether the bucket `now` falls in, still filling, counts as the first of them; false
    ///     sums the `last` complete buckets before it (a steadier rate).
    func sum(at now: UInt64, last: Int? = nil, includingCurrent: Bool = true) -> Int {
        let current = now / width
        let newest = includingCurrent ? current : current &- 1
        let span = UInt64(min(max(0, last ?? stamps.count), stamps.count - (includingCurrent ? 0 : 1)))
        guard span > 0, includingCurrent || current > 0 else { return 0 }
        var total = 0
        for slot in stamps.indices {
            let stamp = stamps[slot]
            // In (newest - span, newest]; a bucket after `now` (counted by a thread that read the clock later) is not.
            if stamp != .max, stamp <= current, newest &- stamp < span { total += counts[slot] }
        }
        return total
    }
}
