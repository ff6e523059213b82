import Foundation
import Synchronization
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// A clock the tests move by hand.
final class ManualClock: Sendable {
    private let now = Atomic<UInt64>(1_000_000_000)
    func read() -> UInt64 { now.load(ordering: .relaxed) }
    func advance(_ duration: Duration) {
        let ns =
            UInt64(duration.components.seconds) * 1_000_000_000
            + UInt64(duration.components.attoseconds / 1_000_000_000)
        now.add(ns, ordering: .relaxed)
    }
}

@Suite struct ResultCacheTests {
    private func key(_ n: Int) -> CacheKey {
        CacheKey(plugin: "p", version: "1", library: "aa", tool: "t", canonicalArguments: Array("{\"n\":\(n)}".utf8))
    }

    @Test func entriesExpireAfterTheirTTL() {
        let clock = ManualClock()
        let cache = ResultCache(maxBytes: 1 << 20, clock: { clock.read() })
        cache.put(
            key(1), output: Array("1".utf8), duration: .milliseconds(3), ttl: .seconds(10), plugin: "p", tool: "p.t")
        clock.advance(.seconds(9))
        #expect(cache.get(key(1))?.output == Array("1".utf8))
        #expect(cache.get(key(1))?.duration == .milliseconds(3))
        clock.advance(.seconds(1))
        #expect(cache.get(key(1)) == nil)
        #expect(cache.usage.entries == 0 && cache.usage.bytes == 0)
    }

    @Test func leastRecentlyUsedIsEvictedAtTheByteBound() {
        let entry = 100 + ResultCache.entryOverhead
        let cache = ResultCache(maxBytes: entry * 3)
        let output = [UInt8](repeating: 0x31, count: 100)
        for n in 1...3 {
            cache.put(key(n), output: output, duration: .zero, ttl: .seconds(60), plugin: "p", tool: "p.t")
        }
        #expect(cache.usage.bytes == entry * 3)
        _ = cache.get(key(1))  // 1 is now the most recently used; 2 the least
        cache.put(key(4), output: output, duration: .zero, ttl: .seconds(60), plugin: "p", tool: "p.t")
        #expect(cache.get(key(2)) == nil)
        #expect(cache.get(key(1)) != nil && cache.get(key(3)) != nil && cache.get(key(4)) != nil)
        #expect(cache.usage.bytes <= cache.maxBytes)
        #expect(cache.usage.evictions == 1)
    }

    @Test func anEntryLargerThanTheCacheIsNotStored() {
        let cache = ResultCache(maxBytes: 1000)
        cache.put(
            key(1), output: [UInt8](repeating: 0, count: 2000), duration: .zero, ttl: .seconds(1), plugin: "p",
            tool: "p.t")
        #expect(cache.usage.entries == 0)
    }

    @Test func invalidationByToolPluginAndAll() {
        let cache = ResultCache(maxBytes: 1 << 20)
        let pairs = [("a", "a.x"), ("a", "a.y"), ("b", "b.x")]
        for (index, (plugin, tool)) in pairs.enumerated() {
            cache.put(key(index), output: [1], duration: .zero, ttl: .seconds(60), plugin: plugin, tool: tool)
        }
        #expect(cache.invalidate(tool: "a.x") == 1)
        #expect(cache.get(key(0)) == nil && cache.get(key(1)) != nil)
        #expect(cache.invalidate(plugin: "a") == 1)
        #expect(cache.get(key(2)) != nil)
        #expect(cache.invalidate() == 1)
        #expect(cache.usage.entries == 0 && cache.usage.bytes == 0)
    }

    @Test func keyDependsOnPluginVersionAndTool() {
        let arguments = Array("{}".utf8)
        let base = CacheKey(plugin: "p", version: "1", library: "aa", tool: "t", canonicalArguments: arguments)
        #expect(base != CacheKey(plugin: "p", version: "2", library: "aa", tool: "t", canonicalArguments: arguments))
        #expect(base != CacheKey(plugin: "p", version: "1", library: "aa", tool: "u", canonicalArguments: arguments))
        #expect(base != CacheKey(plugin: "q", version: "1", library: "aa", tool: "t", canonicalArguments: arguments))
        #expect(base != CacheKey(plugin: "p", version: "1", library: "bb", tool: "t", canonicalArguments: arguments))
        #expect(
            CacheKey(plugin: "ab", version: "c", library: "aa", tool: "t", canonicalArguments: arguments)
                != CacheKey(plugin: "a", version: "bc", library: "aa", tool: "t", canonicalArguments: arguments))
        #expect(base.hex.count == 64)
    }
}

/// The cache policy through the whole pipeline, counting real executions of the probe plugin.
@Suite struct CachePolicyTests {
    private func host(
        ttl: Double = 60, extra: JSONObject = [:], configure: (inout ToolHost.Configuration) -> Void = { _ in }
    ) async throws -> ToolHost {
        var policy: JSONObject = ["deterministic": true, "cache": ["ttlSeconds": .double(ttl)]]
        for (key, value) in extra { policy.set(key, value) }
        let manifest = Fixtures.probeManifest(toolPolicy: ["count": policy, "flaky": policy])
        return try await Fixtures.probeHost(manifest: manifest, isolated: true, configure: configure).0
    }

    private func executions(_ host: ToolHost) async throws -> Int64? {
        try await host.call("probe.count_read", arguments: [:]).json["executions"]?.intValue
    }

    /// Build A of a plugin answered and was cached; build B replaced it under the same version (its sha256 pinned):
    /// the next identical call runs B, never A's cached result.
    @Test func aBuildReplacedUnderTheSameVersionNeverAnswersFromTheOldBuildsResults() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-replace")
        let deterministic: JSONObject = ["deterministic": true, "cache": ["ttlSeconds": 600]]
        func manifest(sha256: String?) -> JSONValue {
            var library: JSONObject = ["file": "libfaults.so"]
            if let sha256 { library.set("sha256", .string(sha256)) }
            return [
                "name": "faults", "version": "1.0.0", "abi": ["major": 1, "minor": 1], "library": .object(library),
                "tools": .array(
                    IsolationTests.faultTools.map {
                        $0 == "variant" ? Fixtures.tool($0, deterministic) : Fixtures.tool($0)
                    }
                ),
            ]
        }
        let buildA = try await Fixtures.compile("faults.c")
        let buildB = try await Fixtures.compile("faults.c", defines: [#"FAULTS_VARIANT="B""#])
        try Fixtures.install(
            in: plugins, folder: "faults", manifest: manifest(sha256: nil), libraryFrom: buildA,
            libraryName: "libfaults.so")
        let host = ToolHost(
            configuration: ToolHost.Configuration(
                pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store")))
        defer { host.shutdown() }
        #expect(try await host.call("faults.variant", arguments: [:]).json == ["variant": "A"])
        #expect(try await host.call("faults.variant", arguments: [:]).cached)

        let bytesB = try #require(FileManager.default.contents(atPath: buildB))
        try Fixtures.install(
            in: plugins, folder: "faults", manifest: manifest(sha256: LibraryStore.sha256(Array(bytesB))),
            libraryFrom: buildB, libraryName: "libfaults.so")
        #expect(host.reload())
        let after = try await host.call("faults.variant", arguments: [:])
        #expect(after.json == ["variant": "B"])
        #expect(!after.cached)
    }

    /// Two identical calls of a deterministic 400 ms tool share one execution; the first has a 100 ms timeout, the
    /// second none: the first times out, the second keeps its own deadline and gets the answer.
    @Test func aFollowerKeepsItsOwnDeadlineWhenTheLeaderTimesOut() async throws {
        let policy: JSONObject = ["deterministic": true, "cache": ["ttlSeconds": 60]]
        let (host, _) = try await Fixtures.probeHost(
            manifest: Fixtures.probeManifest(toolPolicy: ["sleep": policy]), isolated: true)
        defer { host.shutdown() }
        let leader = Task {
            await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 400], timeout: .milliseconds(100)))
        }
        // The leader is running before the follower comes.
        while try await host.call("probe.sleep_read", arguments: [:]).json["started"] != 1 {
            try await Task.sleep(for: .milliseconds(1))
        }
        let follower = await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 400]))
        guard case .failure(let timedOut) = await leader.value else {
            Issue.record("the leader's 100 ms timeout must pass before its 400 ms tool answers")
            return
        }
        #expect(timedOut.code == .timeout)
        let result = try follower.get()
        #expect(result.json["slept"] == 400)
        #expect(!result.cached)
    }

    @Test func keyOrderWhitespaceAndNumberSpellingShareOneEntry() async throws {
        let host = try await host()
        let first = try await host.call(
            "probe.count", arguments: try JSONValue.parse(#"{"a": 1, "b": [1.0, {"y": 2, "x": 1}]}"#))
        let second = try await host.call(
            "probe.count", arguments: try JSONValue.parse(#"{"b":[1,{"x":1e0,"y":2}],"a":1.0}"#))
        #expect(!first.cached)
        #expect(second.cached)
        #expect(second.output == first.output)
        #expect(second.originalDuration != nil)
        #expect(try await executions(host) == 1)
    }

    @Test func nonCacheableParametersBypassTheCacheAtAnyDepth() async throws {
        let host = try await host(extra: ["cache": ["ttlSeconds": 60, "nonCacheableParams": ["seed"]]])
        for arguments: JSONValue in [["nonce": 1], ["deep": ["list": [["timestamp": 5]]]], ["seed": 3]] {
            _ = try await host.call("probe.count", arguments: arguments)
            let again = try await host.call("probe.count", arguments: arguments)
            #expect(!again.cached, "\(arguments) must bypass the cache")
        }
        #expect(try await executions(host) == 6)
    }

    @Test func toolsThatAreNotDeterministicAreNeverCached() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true)
        _ = try await host.call("probe.count", arguments: ["a": 1])
        #expect(try await !host.call("probe.count", arguments: ["a": 1]).cached)
        #expect(try await executions(host) == 2)
    }

    @Test func errorsAreNeverCached() async throws {
        let host = try await host()
        let failed = await host.call(ToolCall(tool: "probe.flaky", arguments: ["key": "e", "failures": 1]))
        #expect((try? failed.get()) == nil)
        let retried = try await host.call("probe.flaky", arguments: ["key": "e", "failures": 1])
        #expect(!retried.cached && retried.json == ["calls": 2])
        #expect(try await host.call("probe.flaky", arguments: ["key": "e", "failures": 1]).cached)
    }

    @Test func ttlZeroAndADisabledCacheStoreNothing() async throws {
        let zero = try await host(ttl: 0)
        _ = try await zero.call("probe.count", arguments: [:])
        #expect(try await !zero.call("probe.count", arguments: [:]).cached)
        let disabled = try await host { $0.cache.enabled = false }
        _ = try await disabled.call("probe.count", arguments: [:])
        #expect(try await !disabled.call("probe.count", arguments: [:]).cached)
    }

    @Test func identicalConcurrentCallsShareOneExecution() async throws {
        let host = try await host()
        let results = await host.batch((0..<10).map { _ in ToolCall(tool: "probe.count", arguments: ["ms": 200]) })
        let values = results.compactMap { try? $0.get() }
        #expect(values.count == 10)
        #expect(values.allSatisfy { $0.json == ["executions": 1] })
        #expect(values.filter(\.shared).count == 9)
        #expect(try await executions(host) == 1)
    }

    @Test func aNewPluginVersionNeverReadsTheOldVersionsResults() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let library = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"versions\"", "PLUGIN_VERSION=\"1.0.0\""])
        let policy: JSONObject = ["deterministic": true, "cache": ["ttlSeconds": 60]]
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(toolPolicy: ["count": policy]),
            libraryFrom: library)
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        _ = try await host.call("probe.count", arguments: [:])
        #expect(try await host.call("probe.count", arguments: [:]).cached)
        let newer = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"versions\"", "PLUGIN_VERSION=\"1.1.0\""])
        try Fixtures.install(
            in: plugins, folder: "probe",
            manifest: Fixtures.probeManifest(version: "1.1.0", toolPolicy: ["count": policy]), libraryFrom: newer)
        host.reload()
        #expect(try await !host.call("probe.count", arguments: [:]).cached)
    }

    @Test func invalidationThroughTheHost() async throws {
        let host = try await host()
        _ = try await host.call("probe.count", arguments: [:])
        #expect(await host.invalidateCache(tool: "probe.other") == CacheRemoval(l1: 0, l2: nil))
        #expect(await host.invalidateCache(tool: "probe.count") == CacheRemoval(l1: 1, l2: nil))
        #expect(try await !host.call("probe.count", arguments: [:]).cached)
        #expect(await host.invalidateCache(plugin: "probe") == CacheRemoval(l1: 1, l2: nil))
        _ = try await host.call("probe.count", arguments: [:])
        #expect(await host.invalidateCache() == CacheRemoval(l1: 1, l2: nil))
    }
}
