import Foundation
import Logging
import Synchronization
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// A wall clock (milliseconds since the epoch) the tests move by hand.
final class ManualWallClock: Sendable {
    private let now = Atomic<Int64>(1_800_000_000_000)
    func read() -> Int64 { now.load(ordering: .relaxed) }
    func advance(_ duration: Duration) {
        now.add(
            duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000,
            ordering: .relaxed)
    }
}

/// The L2 tier against a real SQLite file: every host here writes and reads a file on disk, and the plugin is the
/// probe fixture, whose `count` tool says how often it ran in this host.
@Suite struct PersistentCacheTests {
    /// A plugins directory with a probe library of its own (its counters belong to the hosts of one test), whose
    /// `count` is deterministic with a 60 s TTL.
    private func plugins() async throws -> String {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let policy: JSONObject = ["deterministic": true, "cache": ["ttlSeconds": 60]]
        let library = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"\(UUID().uuidString)\""])
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(toolPolicy: ["count": policy]),
            libraryFrom: library)
        return plugins
    }

    /// A host over `plugins` with L2 at `path`. Each host has a library store of its own, so each opens its own copy
    /// of the library: its counters start at zero, as in a new process.
    private func host(
        _ plugins: String, l2 path: String, clock: ManualWallClock? = nil, logger: Logger = Logger(label: "test"),
        configure: (inout ToolHost.Configuration) -> Void = { _ in }
    ) -> ToolHost {
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configuration.cache.l2.enabled = true
        configuration.cache.l2.path = path
        // Generous: these tests are about what is stored, not about speed on a loaded machine.
        configuration.cache.l2.budget = .seconds(5)
        if let clock { configuration.cache.wallClock = { clock.read() } }
        configure(&configuration)
        return ToolHost(configuration: configuration, logger: logger)
    }

    private func executions(_ host: ToolHost) async throws -> Int64? {
        try await host.call("probe.count_read", arguments: [:]).json["executions"]?.intValue
    }

    private func l2Path() -> String {
        Fixtures.temporaryDirectory("toolhost-l2") + "/cache.sqlite"
    }

    @Test func aColdHostAnswersARepeatedCallFromTheFileWithoutCallingThePlugin() async throws {
        let plugins = try await plugins()
        let path = l2Path()
        let warm = host(plugins, l2: path)
        let first = try await warm.call("probe.count", arguments: ["n": 1])
        #expect(!first.cached && first.json == ["executions": 1])
        await warm.closeCache()

        let cold = host(plugins, l2: path)
        defer { cold.shutdown() }
        let again = try await cold.call("probe.count", arguments: ["n": 1])
        #expect(again.cached)
        #expect(again.json == ["executions": 1])
        #expect(again.originalDuration != nil)
        #expect(try await executions(cold) == 0, "the cold host's plugin must not have run")
        #expect(cold.persistentCache?.status.hits == 1)
        // The hit filled L1: the next identical call is answered from memory, not from the file.
        #expect(try await cold.call("probe.count", arguments: ["n": 1]).cached)
        #expect(cold.persistentCache?.status.hits == 1)
        #expect(cold.cache.status.hits == 1)
        await cold.closeCache()
    }

    @Test func expiredEntriesAreMissesAndAreSweptFromTheFile() async throws {
        let plugins = try await plugins()
        let path = l2Path()
        let clock = ManualWallClock()
        let warm = host(plugins, l2: path, clock: clock)
        _ = try await warm.call("probe.count", arguments: ["n": 1])
        _ = try await warm.call("probe.count", arguments: ["n": 2])
        await warm.closeCache()
        #expect(warm.persistentCache?.status.entries == 2)

        clock.advance(.seconds(61))
        let cold = host(plugins, l2: path, clock: clock)
        defer { cold.shutdown() }
        let expired = try await cold.call("probe.count", arguments: ["n": 1])
        #expect(!expired.cached, "a result past its TTL must not be read from the file")
        #expect(try await executions(cold) == 1)
        // Writing the new result swept the other expired one: only the new one is left.
        await cold.persistentCache?.flush()
        #expect(cold.persistentCache?.status.entries == 1)
        await cold.closeCache()
    }

    @Test func theFileStaysWithinItsBytesEvictingTheLeastRecentlyUsedFirst() async throws {
        let clock = ManualWallClock()
        let cost = SQLiteResultCache.cost(output: 100, plugin: "p", tool: "p.t", version: "1", library: "aa")
        var configuration = SQLiteResultCache.Configuration(path: l2Path(), maxBytes: cost * 4, budget: .seconds(5))
        configuration.wallClock = { clock.read() }
        let l2 = SQLiteResultCache(configuration: configuration, logger: Logger(label: "test"))
        func key(_ n: UInt8) -> CacheKey {
            CacheKey(plugin: "p", version: "1", library: "aa", tool: "p.t", canonicalArguments: [n])
        }
        func put(_ n: UInt8) {
            l2.store(
                key(n), plugin: "p", version: "1", library: "aa", tool: "p.t",
                output: [UInt8](repeating: n, count: 100), duration: .milliseconds(1), ttl: .seconds(60))
            clock.advance(.milliseconds(1))
        }
        for n in UInt8(1)...4 { put(n) }
        await l2.flush()
        #expect(l2.status.entries == 4 && l2.status.bytes == cost * 4)
        // Reading 1 makes it the most recently used.
        #expect(await l2.lookup(key(1))?.output == [UInt8](repeating: 1, count: 100))
        clock.advance(.milliseconds(1))
        put(5)
        await l2.flush()
        let status = l2.status
        #expect(status.bytes <= cost * 4)
        #expect(status.entries == 3)
        var held: [UInt8] = []
        for n in UInt8(1)...5 where await l2.lookup(key(n)) != nil { held.append(n) }
        #expect(held == [1, 4, 5], "the least recently used (2, then 3) go first")
        await l2.close()
    }

    @Test func aCorruptFileIsMovedAsideAndANewOneServes() async throws {
        let plugins = try await plugins()
        let path = l2Path()
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try garbage.write(to: URL(fileURLWithPath: path))
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in lines.handler }
        let first = host(plugins, l2: path, logger: logger)
        #expect(try await first.call("probe.count", arguments: [:]).json == ["executions": 1])
        await first.closeCache()
        let status = try #require(first.persistentCache?.status)
        #expect(status.errors >= 1)
        let directory = (path as NSString).deletingLastPathComponent
        let aside = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix("cache.sqlite.bad-")
        }
        #expect(aside.count == 1)
        #expect(FileManager.default.contents(atPath: directory + "/" + (aside.first ?? "")) == garbage)
        #expect(lines.all.contains { $0.contains("moved it aside") && $0.contains("cache.movedTo=") })

        // The new file works: a second host is answered from it.
        let second = host(plugins, l2: path)
        defer { second.shutdown() }
        #expect(try await second.call("probe.count", arguments: [:]).cached)
        #expect(try await executions(second) == 0)
        await second.closeCache()
    }

    @Test func aFileThatCannotBeCreatedTurnsTheTierOffAndCallsGoOn() async throws {
        let plugins = try await plugins()
        let notADirectory = Fixtures.temporaryDirectory("toolhost-l2") + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: notADirectory))
        let lines = LogLines()
        let host = host(
            plugins, l2: notADirectory + "/cache.sqlite", logger: Logger(label: "test") { _ in lines.handler })
        defer { host.shutdown() }
        #expect(try await host.call("probe.count", arguments: [:]).json == ["executions": 1])
        #expect(try await host.call("probe.count", arguments: [:]).cached)
        let status = try #require(host.persistentCache?.status)
        #expect(status.state == "off")
        #expect(status.problem?.contains("cannot be created") == true)
        #expect(lines.all.contains { $0.contains("the L2 cache is off") })
        await host.closeCache()
    }

    /// Another process holds the file's WAL-index locks (as a wedged process would): SQLite's reader retries for
    /// seconds; the call takes its miss at the budget and runs the tool.
    @Test func aLookupPastItsBudgetIsAMissAndTheCallRuns() async throws {
        let plugins = try await plugins()
        let path = l2Path()
        let warm = host(plugins, l2: path)
        _ = try await warm.call("probe.count", arguments: [:])
        await warm.closeCache()

        let cold = host(plugins, l2: path) { $0.cache.l2.budget = .milliseconds(5) }
        defer { cold.shutdown() }
        await cold.persistentCache?.waitUntilOpen()
        let holder = try LockHolder(path: path)
        let result = try await cold.call("probe.count", arguments: [:])
        holder.release()
        #expect(!result.cached)
        #expect(result.json == ["executions": 1])
        let status = try #require(cold.persistentCache?.status)
        #expect(status.timeouts == 1 && status.misses == 1 && status.hits == 0)
        await cold.closeCache()
    }

    @Test func clearingTheCacheClearsTheFileByToolByPluginAndAll() async throws {
        let plugins = try await plugins()
        let path = l2Path()
        let warm = host(plugins, l2: path)
        defer { warm.shutdown() }
        for n in 1...3 { _ = try await warm.call("probe.count", arguments: ["n": .int(Int64(n))]) }
        await warm.persistentCache?.flush()
        #expect(await warm.invalidateCache(tool: "probe.other") == CacheRemoval(l1: 0, l2: 0))
        #expect(await warm.invalidateCache(plugin: "other", tool: "probe.count") == CacheRemoval(l1: 0, l2: 0))
        _ = try await warm.call("probe.count", arguments: ["n": 4])
        await warm.persistentCache?.flush()
        #expect(await warm.invalidateCache(tool: "probe.count") == CacheRemoval(l1: 4, l2: 4))
        _ = try await warm.call("probe.count", arguments: ["n": 5])
        await warm.persistentCache?.flush()
        #expect(await warm.invalidateCache(plugin: "probe") == CacheRemoval(l1: 1, l2: 1))
        _ = try await warm.call("probe.count", arguments: ["n": 6])
        await warm.persistentCache?.flush()
        #expect(await warm.invalidateCache() == CacheRemoval(l1: 1, l2: 1))
        await warm.closeCache()

        let cold = host(plugins, l2: path)
        defer { cold.shutdown() }
        #expect(try await !cold.call("probe.count", arguments: ["n": 6]).cached)
        await cold.closeCache()
    }

    @Test func aHotReplaceDeletesTheOldGenerationsEntriesFromTheFile() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let policy: JSONObject = ["deterministic": true, "cache": ["ttlSeconds": 60]]
        let instance = "FIXTURE_INSTANCE=\"\(UUID().uuidString)\""
        let old = try await Fixtures.compile(defines: [instance, "PLUGIN_VERSION=\"1.0.0\""])
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(toolPolicy: ["count": policy]),
            libraryFrom: old)
        let path = l2Path()
        let host = host(plugins, l2: path)
        defer { host.shutdown() }
        _ = try await host.call("probe.count", arguments: ["n": 1])
        _ = try await host.call("probe.count", arguments: ["n": 2])
        await host.persistentCache?.flush()
        #expect(host.persistentCache?.status.entries == 2)

        let new = try await Fixtures.compile(defines: [instance, "PLUGIN_VERSION=\"1.1.0\""])
        try Fixtures.install(
            in: plugins, folder: "probe",
            manifest: Fixtures.probeManifest(version: "1.1.0", toolPolicy: ["count": policy]), libraryFrom: new)
        #expect(host.reload())
        await host.persistentCache?.flush()
        #expect(host.persistentCache?.status.entries == 0)
        #expect(try await !host.call("probe.count", arguments: ["n": 1]).cached)
        await host.closeCache()
    }
}

/// Another process that holds the exclusive locks of a SQLite file's WAL index (`<path>-shm`, bytes 120-127: the
/// write, checkpoint, recovery and read-mark locks), until released.
private final class LockHolder: Sendable {
    private let process: Process
    private let input: Pipe

    init(path: String) throws {
        let script = """
            import fcntl, os, sys
            fd = os.open(sys.argv[1] + "-shm", os.O_RDWR)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)
            print("locked", flush=True)
            sys.stdin.read()
            """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // Blocks until the lock is held (a line), or the helper failed (end of file).
        let line = output.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).hasPrefix("locked") else {
            throw FixtureError("the lock holder could not take the locks of \(path)-shm")
        }
    }

    func release() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
