import Testing

@testable import ToolHost

/// Durations the operator writes (a worker's start timeout, the pool's spin) reach the clock whole: seconds and
/// fractions of a second both count.
@Suite struct DurationConversionTests {
    @Test(arguments: [
        (Duration.milliseconds(1500), UInt64(1_500_000_000)), (.milliseconds(250), 250_000_000),
        (.seconds(Int64.max), UInt64(Int64.max)),
    ])
    func aWorkersStartTimeoutIsKeptWhole(timeout: Duration, nanoseconds: UInt64) {
        let now: UInt64 = 1_000
        #expect(WorkerProcess.startupDeadline(timeout, from: now) == now + nanoseconds)
    }

    @Test(arguments: [(Duration.milliseconds(1500), UInt64(1_500_000_000)), (.milliseconds(250), 250_000_000)])
    func thePoolsSpinAndIdleTimeoutAreKeptWhole(duration: Duration, nanoseconds: UInt64) {
        let pool = PluginThreadPool(name: "test-durations", idleTimeout: duration, spin: duration)
        #expect(pool.spinNs == nanoseconds)
        #expect(pool.idleTimeoutNs == nanoseconds)
    }
}
