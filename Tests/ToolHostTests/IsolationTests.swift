import Foundation
import Testing
import ToolHostJSON

@testable import ToolHost

/// The fault suite: a plugin that misbehaves in every way, in each mode where the host can survive it.
@Suite struct IsolationTests {
    static let faultTools = [
        "ok", "pid", "segfault", "abort", "exit", "hang_forever", "busy_loop", "allocate_forever", "huge_result",
        "invalid_utf8", "invalid_json", "noisy", "close_stdio", "fork_linger", "late_calls",
    ]

    static func manifest(isolation: String = "process", limits: JSONObject? = nil) -> JSONValue {
        var object: JSONObject = [
            "name": "faults", "version": "1.0.0", "abi": ["major": 1, "minor": 1], "library": ["file": "libfaults.so"],
            "isolation": .string(isolation),
            "tools": .array(faultTools.map { Fixtures.tool($0) }),
        ]
        if let limits { object.set("limits", .object(limits)) }
        return .object(object)
    }

    private func host(
        isolation: String = "process", limits: JSONObject? = nil,
        configure: (inout ToolHost.Configuration) -> Void = { _ in }
    ) async throws -> ToolHost {
        let plugins = Fixtures.temporaryDirectory("toolhost-faults")
        try Fixtures.install(
            in: plugins, folder: "faults", manifest: Self.manifest(isolation: isolation, limits: limits),
            libraryFrom: try await Fixtures.compile("faults.c"), libraryName: "libfaults.so")
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory())
        configuration.isolation.workerExecutable = Fixtures.productsDirectory + "/toolhost"
        configure(&configuration)
        return ToolHost(configuration: configuration)
    }

    private func error(_ host: ToolHost, _ tool: String, timeout: Duration? = nil) async -> ToolError? {
        if case .failure(let error) = await host.call(ToolCall(tool: "faults." + tool, timeout: timeout)) {
            return error
        }
        return nil
    }

    private func pid(_ host: ToolHost) async throws -> Int32 {
        Int32(try #require(try await host.call("faults.pid", arguments: [:]).json["pid"]?.intValue))
    }

    /// Whether a process exists (a zombie counts: it was not reaped).
    private func exists(_ pid: Int32) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/\(pid)")
    }

    /// Whether a process is running (not a zombie). Orphans are reaped by init, not by us.
    private func running(_ pid: Int32) -> Bool {
        guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return false }
        let text = String(decoding: stat, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return false }
        return !text[text.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test(arguments: [
        ("segfault", "signal 11"), ("abort", "signal 6"), ("exit", "exit status 3"),
    ])
    func aCrashCostsOneCall(tool: String, how: String) async throws {
        let host = try await host()
        let before = try await pid(host)
        let failure = try #require(await error(host, tool))
        #expect(failure.code == .pluginCrashed)
        #expect(failure.message.contains(how), "\(failure.message)")
        #expect(!exists(before), "the crashed worker was reaped")
        let after = try await pid(host)
        #expect(after != before, "a fresh worker took the next call")
        #expect(try await host.call("faults.ok", arguments: [:]).json == ["ok": true])
        host.shutdown()
        #expect(!exists(after))
    }

    @Test(arguments: ["hang_forever", "busy_loop"])
    func aTimeoutIsAHardKill(tool: String) async throws {
        let host = try await host()
        let worker = try await pid(host)
        let started = ContinuousClock.now
        let failure = try #require(await error(host, tool, timeout: .milliseconds(200)))
        #expect(failure.code == .timeout)
        #expect(ContinuousClock.now - started < .seconds(5))
        for _ in 0..<500 where exists(worker) { try await Task.sleep(for: .milliseconds(2)) }
        #expect(!exists(worker), "the worker was killed and reaped")
        #expect(try await host.call("faults.ok", arguments: [:]).json == ["ok": true])
        host.shutdown()
    }

    @Test func theCPULimitKillsABusyWorker() async throws {
        let host = try await host(limits: ["cpuSeconds": 1])
        let failure = try #require(await error(host, "busy_loop", timeout: .seconds(20)))
        #expect(failure.code == .pluginCrashed)
        #expect(failure.message.contains("signal"), "\(failure.message)")
        #expect(try await host.call("faults.ok", arguments: [:]).json == ["ok": true])
        host.shutdown()
    }

    @Test func theMemoryLimitStopsUnboundedAllocation() async throws {
        let host = try await host(limits: ["memoryMB": 256])
        switch await host.call(ToolCall(tool: "faults.allocate_forever", timeout: .seconds(20))) {
        case .success(let result):
            #expect(result.json == ["allocationFailed": true])
        case .failure(let error):
            #expect(error.code == .pluginCrashed)
        }
        #expect(try await host.call("faults.ok", arguments: [:]).json == ["ok": true])
        host.shutdown()
    }

    @Test(arguments: ["process", "inprocess"])
    func badResultsAreRefusedWithAPreciseError(isolation: String) async throws {
        let host = try await host(isolation: isolation)
        for tool in ["invalid_utf8", "invalid_json"] {
            let failure = try #require(await error(host, tool))
            #expect(failure.code == .pluginError)
            #expect(failure.message.contains("not valid UTF-8 JSON"))
        }
        let huge = try #require(await error(host, "huge_result"))
        #expect(huge.code == .pluginError)
        #expect(huge.message.contains("limit") || huge.message.contains("refused"), "\(huge.message)")
        #expect(try await host.call("faults.ok", arguments: [:]).json == ["ok": true])
        host.shutdown()
    }

    @Test(arguments: ["process", "inprocess"])
    func printingAndLateHostCallsAreHarmless(isolation: String) async throws {
        let host = try await host(isolation: isolation)
        #expect(try await host.call("faults.noisy", arguments: [:]).json == ["printed": true])
        #expect(try await host.call("faults.late_calls", arguments: [:]).json == ["returned": true])
        try await Task.sleep(for: .milliseconds(50))  // the plugin's own thread uses the stale call meanwhile
        #expect(try await host.call("faults.ok", arguments: [:]).json == ["ok": true])
        host.shutdown()
    }

    @Test func closingStdioOnlyAffectsTheWorker() async throws {
        let host = try await host()
        #expect(try await host.call("faults.close_stdio", arguments: [:]).json == ["closed": true])
        #expect(try await host.call("faults.ok", arguments: [:]).json == ["ok": true])
        host.shutdown()
    }

    @Test func aForkedChildGoesWithItsWorker() async throws {
        let host = try await host()
        let child = Int32(
            try #require(try await host.call("faults.fork_linger", arguments: [:]).json["child"]?.intValue))
        #expect(running(child))
        host.shutdown()
        for _ in 0..<500 where running(child) { try await Task.sleep(for: .milliseconds(2)) }
        #expect(!running(child), "the lingering child was killed with the worker's process group")
    }

    @Test func repeatedCrashesQuarantineThePlugin() async throws {
        let host = try await host {
            $0.isolation.quarantine = .init(threshold: 2, window: .seconds(60), coolDown: .milliseconds(500))
        }
        _ = await error(host, "segfault")
        _ = await error(host, "segfault")
        let refused = try #require(await error(host, "ok"))
        #expect(refused.code == .pluginUnavailable)
        #expect(refused.message.contains("quarantined"))
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await host.call("faults.ok", arguments: [:]).json == ["ok": true], "the cool-down passed")
        host.shutdown()
    }

    @Test func repeatedTimeoutsQuarantineAnInProcessPlugin() async throws {
        let (host, _) = try await Fixtures.probeHost(isolated: true) {
            $0.isolation.quarantine = .init(threshold: 2, window: .seconds(60), coolDown: .seconds(60))
        }
        for _ in 0..<2 {
            _ = await host.call(ToolCall(tool: "probe.hang", arguments: ["ms": 300], timeout: .milliseconds(20)))
        }
        let refused = await host.call(ToolCall(tool: "probe.echo"))
        guard case .failure(let error) = refused else {
            Issue.record("expected quarantine, got \(refused)")
            return
        }
        #expect(error.code == .pluginUnavailable && error.message.contains("quarantined"))
    }

    @Test func theOperatorOverridesTheManifest() async throws {
        let inProcess = try await host(isolation: "process") { $0.isolation.overrides["faults"] = .inprocess }
        #expect(try await pid(inProcess) == getpid())
        let isolated = try await host(isolation: "inprocess") { $0.isolation.mode = .process }
        #expect(try await pid(isolated) != getpid())
        isolated.shutdown()
    }

    @Test func aBrokenPluginFailsToLoadInItsWorkerNotInTheHost() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-faults")
        var manifest = Fixtures.probeManifest()
        if case .object(var object) = manifest {
            object.set("isolation", "process")
            manifest = .object(object)
        }
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: manifest,
            libraryFrom: try await Fixtures.compile(defines: ["INIT_FAILS"]))
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory())
        configuration.isolation.workerExecutable = Fixtures.productsDirectory + "/toolhost"
        let host = ToolHost(configuration: configuration)
        let outcome = await host.call(ToolCall(tool: "probe.echo"))
        guard case .failure(let error) = outcome else {
            Issue.record("expected the load to fail")
            return
        }
        #expect(error.code == .pluginUnavailable && error.message.contains("init failed"))
    }

    @Test func theCLIShutsItsWorkersDownAndLeavesNoProcessBehind() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-faults")
        try Fixtures.install(
            in: plugins, folder: "faults", manifest: Self.manifest(),
            libraryFrom: try await Fixtures.compile("faults.c"), libraryName: "libfaults.so")
        let lines =
            ["ok", "segfault", "fork_linger", "invalid_json", "ok", "abort", "ok"]
            .map { #"{"tool": "faults.\#($0)", "arguments": {}}"# }.joined(separator: "\n") + "\n"
        let result = try await Fixtures.run(
            Fixtures.productsDirectory + "/toolhost", ["batch", "--plugins", plugins, "--concurrency", "1", "-"],
            input: lines, environment: ["TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory()])
        #expect(result.status == 1)
        let outputs = result.stdout.split(separator: "\n").compactMap { try? JSONValue.parse(String($0)) }
        #expect(outputs.map { $0["ok"]?.boolValue } == [true, false, true, false, true, false, true])
        let child = outputs[2]["result"]?["child"]?.intValue.map { Int32($0) }
        // Nothing that ran the plugin outlives the CLI: no worker, no forked child.
        var survivors: [String] = []
        for _ in 0..<500 {
            survivors = Self.processes(mentioning: plugins)
            if survivors.isEmpty && !(child.map(running) ?? false) { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(survivors.isEmpty, "\(survivors)")
        if let child { #expect(!running(child)) }
    }

    @Test func workersDieWithAHostKilledBySIGKILL() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-faults")
        try Fixtures.install(
            in: plugins, folder: "faults", manifest: Self.manifest(),
            libraryFrom: try await Fixtures.compile("faults.c"), libraryName: "libfaults.so")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Fixtures.productsDirectory + "/toolhost")
        process.arguments = ["call", "--plugins", plugins, "faults.hang_forever"]
        process.environment = ["TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory(), "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var workers: [String] = []
        for _ in 0..<2000 {
            workers = Self.processes(mentioning: plugins).filter { $0.contains(" worker ") }
            if !workers.isEmpty { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(!workers.isEmpty, "a worker started")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        for _ in 0..<1000 {
            workers = Self.processes(mentioning: plugins).filter { !$0.contains("<defunct>") }
            if workers.isEmpty { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(workers.isEmpty, "workers outlived their host: \(workers)")
    }

    @Test(arguments: ["process", "inprocess"])
    func theToolsOwnOutputLimitApplies(isolation: String) async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-limits")
        var manifest = Fixtures.probeManifest(toolPolicy: ["big": ["maxOutputBytes": 1000]])
        if case .object(var object) = manifest {
            object.set("isolation", .string(isolation))
            manifest = .object(object)
        }
        try Fixtures.install(
            in: plugins, folder: "probe", manifest: manifest, libraryFrom: try await Fixtures.compile())
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory())
        configuration.isolation.workerExecutable = Fixtures.productsDirectory + "/toolhost"
        let host = ToolHost(configuration: configuration)
        #expect(try await host.call("probe.big", arguments: ["bytes": 900]).output.count == 902)
        let refused = await host.call(ToolCall(tool: "probe.big", arguments: ["bytes": 5000]))
        if case .failure(let error) = refused {
            #expect(error.code == .pluginError)
        } else {
            Issue.record("a result over maxOutputBytes must be refused")
        }
        host.shutdown()
    }

    @Test func aRemovedPluginsWorkersStop() async throws {
        let host = try await host()
        let worker = try await pid(host)
        #expect(host.plugins().first?.isolation == .process)
        try FileManager.default.removeItem(atPath: host.configuration.pluginsDirectory + "/faults")
        host.reload()
        #expect(host.tools().isEmpty)
        for _ in 0..<500 where running(worker) { try await Task.sleep(for: .milliseconds(2)) }
        #expect(!exists(worker), "the removed plugin's worker was stopped and reaped")
    }

    @Test func quarantineIsVisibleInThePluginList() async throws {
        let host = try await host {
            $0.isolation.quarantine = .init(threshold: 1, window: .seconds(60), coolDown: .seconds(60))
        }
        #expect(host.plugins().first?.quarantined == false)
        _ = await error(host, "abort")
        #expect(host.plugins().first?.quarantined == true)
        host.shutdown()
    }

    /// Command lines of live processes that mention `text`.
    static func processes(mentioning text: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let line = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\u{0}", with: " ")
            return line.contains(text) ? "\(pid): \(line)" : nil
        }
    }
}
