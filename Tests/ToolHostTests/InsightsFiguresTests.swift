import Synchronization
import Testing

@testable import ToolHost

/// The figures behind the insights API on a clock the test moves: windows that forget what is older than they
/// cover, error patterns with their latest message, and the caps that keep them bounded.
@Suite struct InsightsFiguresTests {
    static let second: UInt64 = 1_000_000_000

    @Test func aWindowedCounterForgetsWhatIsOlderThanItsWindow() {
        var counter = WindowedCounter(buckets: 60, width: .seconds(1))
        let start = 1_000 * Self.second
        counter.add(3, at: start)
        counter.add(2, at: start + 30 * Self.second)
        #expect(counter.sum(at: start + 30 * Self.second) == 5)
        #expect(counter.sum(at: start + 59 * Self.second) == 5, "both are within the last 60 buckets")
        #expect(counter.sum(at: start + 60 * Self.second) == 2, "the first bucket left the window")
        #expect(counter.sum(at: start + 90 * Self.second) == 0)
        // Its slot comes round again: the old count is replaced, not added to.
        counter.add(1, at: start + 120 * Self.second)
        #expect(counter.sum(at: start + 120 * Self.second) == 1)
    }

    @Test func aRateCountsWholeBucketsBeforeNow() {
        var counter = WindowedCounter(buckets: 60, width: .seconds(1))
        let start = 1_000 * Self.second
        for second in 0..<20 { counter.add(10, at: start + UInt64(second) * Self.second) }
        counter.add(500, at: start + 20 * Self.second)
        let now = start + 20 * Self.second + Self.second / 2
        #expect(counter.sum(at: now, last: 10, includingCurrent: false) == 100, "seconds 10...19, not the current one")
        #expect(counter.sum(at: now, last: 10) == 590)
    }

    @Test func errorPatternsCountByCodeToolAndPluginOverTheMinuteTheHourAndSinceStart() {
        let patterns = ErrorPatterns()
        let start = 10_000 * Self.second
        patterns.record(code: "timeout", tool: "a.slow", plugin: "a", message: "first", at: start)
        patterns.record(
            code: "plugin_crashed", tool: "b.crash", plugin: "b", message: "died", at: start + 10 * Self.second)
        patterns.record(code: "timeout", tool: "a.slow", plugin: "a", message: "latest", at: start + 20 * Self.second)

        var snapshot = patterns.snapshot(at: start + 30 * Self.second)
        let timeout = snapshot.byCode.first { $0.key == "timeout" }
        #expect(timeout?.lastMinute == 2)
        #expect(timeout?.total == 2)
        #expect(timeout?.latestMessage == "latest")
        #expect(timeout?.latestTool == "a.slow")
        #expect(timeout?.latestAge == .seconds(10))
        #expect(snapshot.byTool.map(\.key) == ["a.slow", "b.crash"], "busiest first")
        #expect(snapshot.byPlugin.first { $0.key == "b" }?.latestCode == "plugin_crashed")

        snapshot = patterns.snapshot(at: start + 10 * 60 * Self.second)
        #expect(snapshot.byCode.allSatisfy { $0.lastMinute == 0 }, "ten minutes on, the last minute is empty")
        #expect(snapshot.byCode.first { $0.key == "timeout" }?.lastHour == 2)
        snapshot = patterns.snapshot(at: start + 2 * 3600 * Self.second)
        #expect(snapshot.byCode.allSatisfy { $0.lastHour == 0 }, "two hours on, the last hour is empty")
        #expect(snapshot.byCode.first { $0.key == "timeout" }?.total == 2, "the total stays")
    }

    @Test func errorPatternsKeepAtMostTheCapOfNamesAndForgetTheStalest() {
        let patterns = ErrorPatterns(maxKeys: 3)
        let start = 10_000 * Self.second
        for index in 0..<10 {
            patterns.record(
                code: "plugin_error", tool: "p\(index).t", plugin: "p\(index)", message: "m",
                at: start + UInt64(index) * Self.second)
        }
        let snapshot = patterns.snapshot(at: start + 10 * Self.second)
        #expect(snapshot.byTool.map(\.key).sorted() == ["p7.t", "p8.t", "p9.t"], "the latest names are kept")
        #expect(snapshot.byPlugin.count == 3)
        #expect(snapshot.forgotten == 14, "7 tools and 7 plugins made room")
        #expect(snapshot.byCode.first?.total == 10, "codes are never forgotten")
    }

    @Test func aLongMessageIsCutAtACharacterBoundary() {
        let message = String(repeating: "é", count: 1_000)
        let cut = ErrorPatterns.cut(message)
        #expect(cut.utf8.count <= ErrorPatterns.maxMessageBytes)
        #expect(cut.hasSuffix("…"))
        #expect(cut.dropLast().allSatisfy { $0 == "é" })
        #expect(ErrorPatterns.cut("short") == "short")
    }

    @Test func activityHasRatesPerToolFiguresAndErrors() {
        let clock = Atomic<UInt64>(5_000 * Self.second)
        let recorder = StatisticsRecorder { clock.load(ordering: .relaxed) }
        let fast = recorder.tool("p.fast", plugin: "p")
        let slow = recorder.tool("p.slow", plugin: "p")
        for _ in 0..<30 {
            recorder.record(fast, outcome: .success(cached: false), duration: .microseconds(50), retries: 0)
            clock.add(Self.second / 3, ordering: .relaxed)  // three calls a second for ten seconds
        }
        recorder.record(slow, outcome: .success(cached: false), duration: .milliseconds(400), retries: 2)
        recorder.record(
            slow, outcome: .failure(ToolError(.timeout, "took too long")), duration: .seconds(1), retries: 0)
        clock.add(Self.second, ordering: .relaxed)

        let activity = recorder.activity()
        #expect(activity.calls == 32)
        #expect(activity.callsLastMinute == 32)
        #expect((29...32).contains(activity.callsLastTenSeconds), "about three a second over ten whole seconds")
        #expect(activity.uptime > .milliseconds(10_999) && activity.uptime <= .seconds(11))
        let slowFigures = activity.tools.first { $0.tool == "p.slow" }
        #expect(slowFigures?.errors == 1)
        #expect(slowFigures?.retries == 2)
        #expect((390_000...1_010_000).contains(slowFigures?.p99 ?? 0))
        #expect(activity.tools.first { $0.tool == "p.fast" }?.callsLastMinute == 30)
        #expect(activity.errors.byCode.first?.latestMessage == "took too long")

        clock.add(120 * Self.second, ordering: .relaxed)
        let later = recorder.activity()
        #expect(later.callsLastMinute == 0)
        #expect(later.callsLastHour == 32)
        #expect(later.tools.allSatisfy { $0.callsLastMinute == 0 })
    }

    /// The percentiles a read computed are answered again only while the tool has no new call: a call recorded
    /// after a read shows in the next one.
    @Test func aToolsLatencyIsReadAgainAfterANewCall() {
        let recorder = StatisticsRecorder { 0 }
        let tool = recorder.tool("p.t", plugin: "p")
        let other = recorder.tool("p.other", plugin: "p")
        for _ in 0..<10 {
            recorder.record(tool, outcome: .success(cached: false), duration: .milliseconds(1), retries: 0)
        }
        recorder.record(other, outcome: .success(cached: false), duration: .milliseconds(3), retries: 0)
        func figures() -> (tool: HostActivity.Tool?, other: HostActivity.Tool?) {
            let activity = recorder.activity()
            return (activity.tools.first { $0.tool == "p.t" }, activity.tools.first { $0.tool == "p.other" })
        }
        let first = figures()
        #expect((990...1010).contains(first.tool?.p99 ?? 0))
        #expect(figures().tool?.p99 == first.tool?.p99, "an unchanged tool answers the same")
        for _ in 0..<10 {
            recorder.record(tool, outcome: .success(cached: false), duration: .milliseconds(500), retries: 0)
        }
        let second = figures()
        #expect((495_000...505_000).contains(second.tool?.p99 ?? 0), "\(String(describing: second.tool))")
        #expect((495_000...505_000).contains(second.tool?.max ?? 0))
        #expect((990...1010).contains(second.tool?.p50 ?? 0))
        #expect(second.other?.p99 == first.other?.p99, "the tool without new calls keeps its figures")
        #expect((2990...3010).contains(second.other?.p99 ?? 0))
    }
}
