import Benchmark
import BenchmarkSupport
import Foundation
import Logging
import ToolHost
import ToolHostJSON

// Hot add and replace (issue 4): the time from the rename of manifest.json into a watched plugins directory to the
// first successful call of the plugin's tool, through the same PluginDirectoryWatcher the daemons run (default
// settle time). Each sample is one deploy; the call is retried every 0.2 ms until it succeeds.

/// A watched, empty plugins directory and its host.
func watchedHost(_ label: String) -> (ToolHost, String, PluginDirectoryWatcher) {
    let base = ProbeFixture.scratch + "/" + label + "-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: base + "/plugins", withIntermediateDirectories: true)
    var configuration = ToolHost.Configuration(pluginsDirectory: base + "/plugins", libraryStore: base + "/store")
    configuration.cache.enabled = false
    var logger = Logger(label: "toolhost")
    logger.logLevel = .warning  // the watcher logs every add and remove at info
    let host = ToolHost(configuration: configuration, logger: logger)
    let watcher = try! PluginDirectoryWatcher.start(host: host, logger: logger)
    return (host, base + "/plugins", watcher)
}

/// The probe library built with `PLUGIN_VERSION` set, so a replacement is a real new library.
func probeLibrary(version: String) -> String {
    ProbeFixture.compilePlugin(
        ProbeFixture.source, to: ProbeFixture.scratch + "/libprobe-\(version).so",
        defines: ["PLUGIN_VERSION=\"\(version)\""])
}

/// Copies the library into `<plugins>/probe` and writes the manifest beside it under a temporary name.
func stage(_ plugins: String, library: String, version: String) {
    let directory = plugins + "/probe"
    let files = FileManager.default
    try? files.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try? files.removeItem(atPath: directory + "/.libprobe.so")
    try! files.copyItem(atPath: library, toPath: directory + "/.libprobe.so")
    precondition(rename(directory + "/.libprobe.so", directory + "/libprobe.so") == 0)
    let manifest = ProbeFixture.manifest(cachedEcho: false).replacingOccurrences(
        of: #""version": "1.0.0""#, with: #""version": "\#(version)""#)
    try! Data(manifest.utf8).write(to: URL(fileURLWithPath: directory + "/.manifest.json"))
}

/// Renames the staged manifest into place: the commit point.
func commit(_ plugins: String) {
    precondition(rename(plugins + "/probe/.manifest.json", plugins + "/probe/manifest.json") == 0)
}

/// Calls `probe.echo` until it succeeds on `version`.
func waitCallable(_ host: ToolHost, version: String) async {
    while true {
        if host.tools().first(where: { $0.name == "probe.echo" })?.pluginVersion == version,
            (try? await host.call("probe.echo", arguments: ["a": 1])) != nil
        {
            return
        }
        try? await Task.sleep(for: .microseconds(200))
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1, scalingFactor: .one,
        maxDuration: .seconds(20), maxIterations: 30)

    // A plugin folder appears (library, then manifest renamed in) and its tool is called; then it is removed.
    Benchmark("4 hot add: manifest rename to first successful call") { benchmark in
        let (host, plugins, watcher) = watchedHost("hot-add")
        defer { watcher.stop() }
        let library = probeLibrary(version: "1.0.0")
        for _ in benchmark.scaledIterations {
            stage(plugins, library: library, version: "1.0.0")
            benchmark.startMeasurement()
            commit(plugins)
            await waitCallable(host, version: "1.0.0")
            benchmark.stopMeasurement()
            try! FileManager.default.removeItem(atPath: plugins + "/probe")
            while !host.tools().isEmpty { try? await Task.sleep(for: .milliseconds(1)) }
        }
    }

    // A serving plugin is replaced by a new version (a different library): new calls reach it.
    Benchmark("4 hot replace: manifest rename to first call on the new version") { benchmark in
        let (host, plugins, watcher) = watchedHost("hot-replace")
        defer { watcher.stop() }
        let libraries = [probeLibrary(version: "1.0.0"), probeLibrary(version: "2.0.0")]
        let versions = ["1.0.0", "2.0.0"]
        stage(plugins, library: libraries[0], version: versions[0])
        commit(plugins)
        await waitCallable(host, version: versions[0])
        var next = 1
        for _ in benchmark.scaledIterations {
            stage(plugins, library: libraries[next], version: versions[next])
            benchmark.startMeasurement()
            commit(plugins)
            await waitCallable(host, version: versions[next])
            benchmark.stopMeasurement()
            next = 1 - next
        }
    }
}
