import Synchronization
import Testing

@testable import ToolHost

/// The log limiter alone, on a clock the test moves.
@Suite struct LogRateLimiterTests {
    @Test func oneLinePerKeyPerIntervalAndTheNextCountsTheHeldBack() {
        let clock = Atomic<UInt64>(1_000_000_000)
        let limiter = LogRateLimiter(interval: .seconds(1)) { clock.load(ordering: .relaxed) }
        #expect(limiter.admit("a") == 0, "the first line goes out")
        #expect(limiter.admit("b") == 0, "keys are independent")
        for _ in 0..<5 { #expect(limiter.admit("a") == nil) }
        clock.add(999_999_999, ordering: .relaxed)
        #expect(limiter.admit("a") == nil, "still within the interval")
        clock.add(1, ordering: .relaxed)
        #expect(limiter.admit("a") == 6, "the next line says how many were held back")
        #expect(limiter.admit("a") == nil)
        clock.add(5_000_000_000, ordering: .relaxed)
        #expect(limiter.admit("a") == 1)
        #expect(limiter.admit("b") == 0)
    }
}
