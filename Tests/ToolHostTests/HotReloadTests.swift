import Foundation
import Synchronization
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// Hot add, replace and remove through the inotify watcher, with real libraries copied into a watched directory
/// the way the README tells a deploy script to: the library first, then the manifest renamed into place.
@Suite struct HotReloadTests {
    /// Counts the change notifications a host sends.
    final class ChangeCounter: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .acquiring) }
    }

    private func watchedHost(
        settle: Duration = .milliseconds(25)
    ) throws -> (ToolHost, String, PluginDirectoryWatcher, ChangeCounter, ToolChangeObservation) {
        let plugins = Fixtures.temporaryDirectory("toolhost-hot")
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("store")))
        let watcher = try PluginDirectoryWatcher.start(host: host, settle: settle)
        let counter = ChangeCounter()
        let observation = host.observeToolChanges { counter.count.add(1, ordering: .releasing) }
        return (host, plugins, watcher, counter, observation)
    }

    /// Deploys like the README says: library into the folder, manifest written beside it, then renamed into place.
    private func deploy(_ plugins: String, folder: String, manifest: JSONValue, library: String) throws {
        let directory = plugins + "/" + folder
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let target = directory + "/libprobe.so"
        let staged = directory + "/.libprobe.so.new"
        try? FileManager.default.removeItem(atPath: staged)
        try FileManager.default.copyItem(atPath: library, toPath: staged)
        #expect(rename(staged, target) == 0)
        let temporary = directory + "/.manifest.json.new"
        try Data(manifest.serialized()).write(to: URL(fileURLWithPath: temporary))
        #expect(rename(temporary, directory + "/manifest.json") == 0)
    }

    @Test func aPluginCopiedInBecomesCallableAndObserversAreTold() async throws {
        let (host, plugins, watcher, counter, observation) = try watchedHost()
        defer { watcher.stop() }
        _ = observation
        #expect(host.tools().isEmpty)
        try deploy(plugins, folder: "probe", manifest: Fixtures.probeManifest(), library: try await Fixtures.compile())
        try await Fixtures.waitUntil("probe.echo is listed") { host.tools().contains { $0.name == "probe.echo" } }
        // Loaded before it was published: the first call finds the library open.
        #expect(host.plugins().first { $0.name == "probe" }?.state == .loaded)
        let result = try await host.call("probe.echo", arguments: ["hot": true])
        #expect(result.json == ["hot": true])
        try await Fixtures.waitUntil("observers are told") { counter.value >= 1 }
    }

    @Test func aReplacedPluginServesNewCallsWhileTheOldOneFinishesItsCall() async throws {
        let (host, plugins, watcher, counter, observation) = try watchedHost()
        defer { watcher.stop() }
        _ = observation
        // Two builds of the probe with their own static counters: each generation counts for itself.
        let first = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"hot-gen-1\""])
        let second = try await Fixtures.compile(defines: [
            "FIXTURE_INSTANCE=\"hot-gen-2\"", "PLUGIN_VERSION=\"2.0.0\"",
        ])
        try deploy(plugins, folder: "probe", manifest: Fixtures.probeManifest(version: "1.0.0"), library: first)
        try await Fixtures.waitUntil("version 1 is listed") { host.tools().contains { $0.name == "probe.count" } }
        for _ in 0..<3 { _ = try await host.call("probe.count", arguments: ["ms": 0]) }
        #expect(try await host.call("probe.count_read", arguments: [:]).json["executions"] == 3)

        // A slow call on version 1, then version 2 is deployed while it runs.
        let slow = Task { try await host.call("probe.sleep", arguments: ["ms": 600]) }
        try await Fixtures.waitUntil("the slow call runs on version 1") {
            try await host.call("probe.sleep_read", arguments: [:]).json["started"] == 1
        }
        let notified = counter.value
        try deploy(plugins, folder: "probe", manifest: Fixtures.probeManifest(version: "2.0.0"), library: second)
        try await Fixtures.waitUntil("version 2 is listed") {
            host.tools().first { $0.name == "probe.count" }?.pluginVersion == "2.0.0"
        }
        // Observers are told just after the new tools are published.
        try await Fixtures.waitUntil("observers are told") { counter.value > notified }
        // New calls reach the new library (its counter starts at zero)...
        #expect(try await host.call("probe.count_read", arguments: [:]).json["executions"] == 0)
        // ...and the call already running finished on the old one, whole.
        let finished = try await slow.value
        #expect(finished.json == ["slept": 600, "cancelled": false])
        // Version 2 never ran a sleep: the slow call's answer came from version 1, not from a re-run.
        #expect(
            try await host.call("probe.sleep_read", arguments: [:]).json == [
                "started": 0, "cancelled": 0, "finished": 0,
            ])
        #expect(host.plugins().map(\.version) == ["2.0.0"])
    }

    /// `--dev`: a library rebuilt in place (as `make` or `cp` writes it) is served as a new generation without the
    /// manifest being touched.
    @Test func aRebuiltLibraryIsServedUnderDevWithoutTouchingTheManifest() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-hot")
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("store")))
        let watcher = try PluginDirectoryWatcher.start(host: host, libraries: true)
        defer { watcher.stop() }
        let first = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"dev-gen-1\""])
        let second = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"dev-gen-2\""])
        try deploy(plugins, folder: "probe", manifest: Fixtures.probeManifest(), library: first)
        try await Fixtures.waitUntil("the probe is listed") { host.tools().contains { $0.name == "probe.count" } }
        for _ in 0..<3 { _ = try await host.call("probe.count", arguments: ["ms": 0]) }
        #expect(try await host.call("probe.count_read", arguments: [:]).json["executions"] == 3)
        let manifest = try FileManager.default.attributesOfItem(atPath: plugins + "/probe/manifest.json")

        // Written in place over the library the host loaded (it runs a private copy).
        try Data(contentsOf: URL(fileURLWithPath: second)).write(
            to: URL(fileURLWithPath: plugins + "/probe/libprobe.so"))
        try await Fixtures.waitUntil("the rebuilt library serves (its counter starts at zero)") {
            try await host.call("probe.count_read", arguments: [:]).json["executions"] == 0
        }
        let after = try FileManager.default.attributesOfItem(atPath: plugins + "/probe/manifest.json")
        #expect(after[.modificationDate] as? Date == manifest[.modificationDate] as? Date)
    }

    @Test func aReplacedProcessIsolatedPluginStopsItsOldWorkerAfterItsCall() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-hot")
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("store"))
        configuration.isolation.workerExecutable = Fixtures.binary
        let host = ToolHost(configuration: configuration)
        let watcher = try PluginDirectoryWatcher.start(host: host)
        defer {
            watcher.stop()
            host.shutdown()
        }
        let isolated: JSONObject = ["isolation": "process"]
        try deploy(
            plugins, folder: "probe", manifest: Fixtures.probeManifest(version: "1.0.0", overrides: isolated),
            library: try await Fixtures.compile())
        try await Fixtures.waitUntil("version 1 has a worker") { !host.workerPids(plugin: "probe").isEmpty }
        let oldWorkers = host.workerPids(plugin: "probe")

        let slow = Task { try await host.call("probe.sleep", arguments: ["ms": 3000]) }
        try await Fixtures.waitUntil("the slow call holds the worker") {
            Set(host.workerPids(plugin: "probe")).isDisjoint(with: oldWorkers)
        }
        try deploy(
            plugins, folder: "probe", manifest: Fixtures.probeManifest(version: "2.0.0", overrides: isolated),
            library: try await Fixtures.compile(defines: ["PLUGIN_VERSION=\"2.0.0\""]))
        try await Fixtures.waitUntil("version 2 is listed") { host.plugins().first?.version == "2.0.0" }
        // The old worker finishes its call whole, then stops; version 2 has workers of its own.
        #expect(try await slow.value.json == ["slept": 3000, "cancelled": false])
        try await Fixtures.waitUntil("the old worker is gone") {
            oldWorkers.allSatisfy { !FileManager.default.fileExists(atPath: "/proc/\($0)") }
        }
        #expect(try await host.call("probe.echo", arguments: ["v": 2]).json == ["v": 2])
        #expect(Set(host.workerPids(plugin: "probe")).isDisjoint(with: oldWorkers))
    }

    @Test func aBrokenNewVersionLeavesTheOldOneServing() async throws {
        let (host, plugins, watcher, _, observation) = try watchedHost()
        defer { watcher.stop() }
        _ = observation
        let library = try await Fixtures.compile()
        try deploy(plugins, folder: "probe", manifest: Fixtures.probeManifest(version: "1.0.0"), library: library)
        try await Fixtures.waitUntil("version 1 is listed") { host.tools().contains { $0.name == "probe.echo" } }

        // Version 2 pins a sha256 its library does not have: it cannot load.
        let wrongHash = String(repeating: "0", count: 64)
        try deploy(
            plugins, folder: "probe", manifest: Fixtures.probeManifest(version: "2.0.0", sha256: wrongHash),
            library: library)
        try await Fixtures.waitUntil("the update is rejected") {
            host.plugins().first?.rejectedUpdate != nil
        }
        let info = try #require(host.plugins().first)
        #expect(info.version == "1.0.0")
        #expect(info.state == .loaded)
        #expect(info.rejectedUpdate?.message.contains("sha256 mismatch") == true)
        #expect(info.rejectedUpdate?.message.contains("previous version goes on serving") == true)
        #expect(try await host.call("probe.echo", arguments: ["still": 1]).json == ["still": 1])

        // Version 3, a manifest that is not JSON: same.
        let manifest = plugins + "/probe/manifest.json"
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: manifest + ".new"))
        #expect(rename(manifest + ".new", manifest) == 0)
        try await Fixtures.waitUntil("the invalid manifest is reported") {
            host.plugins().first?.rejectedUpdate?.message.contains("manifest is invalid") == true
        }
        #expect(host.plugins().first?.version == "1.0.0")
        #expect(try await host.call("probe.echo", arguments: ["still": 2]).json == ["still": 2])

        // A good version 4 replaces version 1 and clears the rejection.
        try deploy(
            plugins, folder: "probe", manifest: Fixtures.probeManifest(version: "4.0.0"),
            library: try await Fixtures.compile(defines: ["PLUGIN_VERSION=\"4.0.0\""]))
        try await Fixtures.waitUntil("version 4 is listed") { host.plugins().first?.version == "4.0.0" }
        #expect(host.plugins().first?.rejectedUpdate == nil)
    }

    @Test func aRemovedPluginDisappearsAfterItsCallEnds() async throws {
        let (host, plugins, watcher, counter, observation) = try watchedHost()
        defer { watcher.stop() }
        _ = observation
        try deploy(plugins, folder: "probe", manifest: Fixtures.probeManifest(), library: try await Fixtures.compile())
        try await Fixtures.waitUntil("probe is listed") { host.tools().contains { $0.name == "probe.sleep" } }
        let slow = Task { try await host.call("probe.sleep", arguments: ["ms": 400]) }
        try await Task.sleep(for: .milliseconds(100))
        let notified = counter.value
        try FileManager.default.removeItem(atPath: plugins + "/probe")
        try await Fixtures.waitUntil("probe is gone") { host.tools().isEmpty }
        try await Fixtures.waitUntil("observers are told") { counter.value > notified }
        let error = await #expect(throws: ToolError.self) { _ = try await host.call("probe.echo", arguments: [:]) }
        #expect(error?.code == .notFound)
        #expect(try await slow.value.json == ["slept": 400, "cancelled": false])
    }

    @Test func aBurstOfEventsIsOneReload() async throws {
        // A settle time long enough that the whole burst falls inside it even on a loaded machine.
        let (host, plugins, watcher, _, observation) = try watchedHost(settle: .milliseconds(300))
        defer { watcher.stop() }
        _ = observation
        let library = try await Fixtures.compile()
        let started = watcher.reloadCount
        let clock = ContinuousClock()
        let burstStart = clock.now
        for _ in 0..<20 {
            try deploy(plugins, folder: "probe", manifest: Fixtures.probeManifest(), library: library)
        }
        let burst = clock.now - burstStart
        try await Fixtures.waitUntil("probe is listed") { host.plugins().first?.state == .loaded }
        try await Task.sleep(for: .seconds(1))  // long past the settle time: any further reload would have run
        // A burst inside the settle time is one reload (two if one began before the burst's first event was seen).
        // A machine too loaded to write 20 deploys within 300 ms allows at most one more per 300 ms the burst took,
        // still far fewer than one per deploy.
        let allowed = 2 + Int(burst / .milliseconds(300))
        #expect(
            watcher.reloadCount - started <= allowed,
            "20 deploys in \(burst): \(watcher.reloadCount - started) reloads, at most \(allowed) allowed")
    }

    @Test func watchingADirectoryThatDoesNotExistSaysSo() throws {
        let host = ToolHost(configuration: .init(pluginsDirectory: "/nonexistent/toolhost-plugins"))
        #expect {
            _ = try PluginDirectoryWatcher.start(host: host)
        } throws: { error in
            "\(error)".contains("/nonexistent/toolhost-plugins")
        }
    }
}
