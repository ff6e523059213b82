import Synchronization

/// The daemon's resident memory over time, and its plugins' worker processes': samples taken every few seconds
/// (by ``MemorySamplerService``) into a ring of ``capacity`` samples, so its memory is fixed however long the daemon
/// runs. The insights API reads it; nothing here reads procfs.
public final class MemorySampler: Sendable {
    /// One reading of the daemon's resident size.
    public struct Sample: Sendable, Hashable {
        /// Nanoseconds of a monotonic clock.
        public var at: UInt64
        public var residentBytes: Int
    }

    /// One worker process's resident size.
    public struct Worker: Sendable, Hashable {
        public var plugin: String
        public var pid: Int32
        public var residentBytes: Int
    }

    /// What the insights API shows.
    public struct Snapshot: Sendable, Hashable {
        /// The latest sample's resident size (nil before the first sample).
        public var residentBytes: Int?
        /// The highest resident size since the daemon started (the kernel's own peak where it was read).
        public var peakResidentBytes: Int?
        /// The samples in the window, oldest first.
        public var window: [Sample]
        /// The least-squares slope of the window's samples, in bytes per minute (nil with fewer than two).
        public var trendBytesPerMinute: Double?
        /// Each worker process at the latest sample.
        public var workers: [Worker]
        /// How often samples are taken.
        public var interval: Duration
    }

    /// Samples kept: an hour at the default interval of 5 s.
    public static let capacity = 720

    private struct State {
        var samples: [Sample] = []
        /// Where the next sample goes once the ring is full.
        var next = 0
        var peak: Int?
        var workers: [Worker] = []
    }

    /// How often the service samples.
    public let interval: Duration
    private let capacity: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - interval: how often ``MemorySamplerService`` samples.
    ///   - capacity: samples kept (tests lower it).
    public init(interval: Duration = .seconds(5), capacity: Int = MemorySampler.capacity) {
        self.interval = interval
        self.capacity = max(2, capacity)
    }

    /// Adds a sample; past ``capacity`` the oldest is replaced.
    /// - Parameters:
    ///   - residentBytes: the daemon's resident size now.
    ///   - peakBytes: the kernel's peak resident size, where it could be read.
    ///   - workers: every worker process now.
    ///   - now: nanoseconds of a monotonic clock.
    public func record(residentBytes: Int, peakBytes: Int?, workers: [Worker], at now: UInt64) {
        state.withLock { state in
            let sample = Sample(at: now, residentBytes: residentBytes)
            if state.samples.count < capacity {
                state.samples.append(sample)
            } else {
                state.samples[state.next] = sample
                state.next = (state.next + 1) % capacity
            }
            state.peak = max(state.peak ?? 0, residentBytes, peakBytes ?? 0)
            state.workers = workers
        }
    }

    public func snapshot() -> Snapshot {
        let (samples, next, peak, workers) = state.withLock { ($0.samples, $0.next, $0.peak, $0.workers) }
        let window = Array(samples[next...] + samples[..<next])
        return Snapshot(
            residentBytes: window.last?.residentBytes, peakResidentBytes: peak, window: window,
            trendBytesPerMinute: Self.slope(window), workers: workers, interval: interval)
    }

    /// The least-squares slope of resident size over time, in bytes per minute.
    static func slope(_ samples: [Sample]) -> Double? {
        guard samples.count > 1, let first = samples.first else { return nil }
        let count = Double(samples.count)
        var sumX = 0.0
        var sumY = 0.0
        var sumXY = 0.0
        var sumXX = 0.0
        for sample in samples {
            // Minutes and bytes from the first sample: small numbers, no cancellation between large sums.
            let x = Double(sample.at &- first.at) / 60e9
            let y = Double(sample.residentBytes - first.residentBytes)
            sumX += x
            sumY += y
            sumXY += x * y
            sumXX += x * x
        }
        let denominator = count * sumXX - sumX * sumX
        guard denominator > 0 else { return nil }
        return (count * sumXY - sumX * sumY) / denominator
    }
}
