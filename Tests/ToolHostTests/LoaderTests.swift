import Foundation
import Logging
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// Each way a plugin can fail to load, built from C as a third party would, and the message it gets.
@Suite struct LoaderTests {
    /// Installs a probe variant and calls `probe.echo`, returning the error.
    private func loadError(
        defines: [String] = [], manifest: JSONValue = Fixtures.probeManifest(), library: String? = nil
    ) async throws -> ToolError {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let libraryPath: String
        if let library { libraryPath = library } else { libraryPath = try await Fixtures.compile(defines: defines) }
        try Fixtures.install(in: plugins, folder: "probe", manifest: manifest, libraryFrom: libraryPath)
        // A second, healthy plugin beside the broken one must keep working.
        try Fixtures.install(
            in: plugins, folder: "healthy", manifest: Fixtures.probeManifest(name: "healthy"),
            libraryFrom: try await Fixtures.compile(defines: ["PLUGIN_NAME=\"healthy\""]))
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("store")))
        #expect(host.tools().contains { $0.name == "probe.echo" }, "a broken library still lists from its manifest")
        let error = await #expect(throws: ToolError.self) {
            _ = try await host.call("probe.echo", arguments: ["x": 1])
        }
        let healthy = try await host.call("healthy.echo", arguments: ["x": 1])
        #expect(healthy.json == ["x": 1])
        // The failure is remembered and reported the same way, without loading again.
        let again = await host.call(ToolCall(tool: "probe.echo"))
        if case .failure(let second) = again { #expect(second.message == error?.message) }
        #expect(host.plugins().first { $0.name == "probe" }?.state == .failed)
        return try #require(error)
    }

    @Test func loadsAndCallsAGoodPlugin() async throws {
        let (host, _) = try await Fixtures.probeHost()
        #expect(host.plugins().first?.state == .listed, "listing opens no library")
        let result = try await host.call("probe.echo", arguments: ["b": [1, 2], "a": "x"])
        #expect(result.json == ["a": "x", "b": [1, 2]])
        #expect(!result.cached)
        #expect(host.plugins().first?.state == .loaded)
    }

    @Test func missingEntrySymbol() async throws {
        let error = try await loadError(defines: ["NO_ENTRY"])
        #expect(error.code == .pluginUnavailable)
        #expect(error.message.contains("does not export 'toolhost_plugin_entry'"))
        #expect(error.message.contains("plugin 'probe'"))
    }

    @Test func entryReturningNull() async throws {
        let error = try await loadError(defines: ["NULL_DESCRIPTOR"])
        #expect(error.message.contains("returned NULL"))
    }

    @Test func abiMajorMismatch() async throws {
        let error = try await loadError(defines: ["ABI_MAJOR=2"])
        #expect(error.message.contains("built for ABI 2.\(HostABI.minor)"))
        #expect(error.message.contains("rebuild"))
    }

    /// A plugin built for a newer minor than the host's (a 1.2 plugin, with progress, on a 1.1 host) is refused before
    /// anything of it runs, saying what to do.
    @Test func newerMinorIsRefused() async throws {
        let error = try await loadError(defines: ["ABI_MINOR=\(HostABI.minor + 1)"])
        #expect(
            error.message.contains(
                "needs ABI 1.\(HostABI.minor + 1), newer than this host's 1.\(HostABI.minor): upgrade toolhost, or "
                    + "rebuild the plugin against the older header"))
    }

    /// Plugins of every older minor (1.0, 1.1: no progress in their host table) load and run unchanged.
    @Test(arguments: [0, 1])
    func olderMinorIsAccepted(minor: Int) async throws {
        #expect(HostABI.minor >= 2, "this host has older minors to test against")
        let (host, _) = try await Fixtures.probeHost(defines: ["ABI_MINOR=\(minor)"], isolated: true)
        #expect(try await host.call("probe.echo", arguments: ["old": true]).json == ["old": true])
        #expect(try await host.call("probe.hypot", arguments: ["x": 3, "y": 4]).json == ["result": 5])
    }

    @Test func initFailure() async throws {
        let error = try await loadError(defines: ["INIT_FAILS"])
        #expect(error.message.contains("init failed"))
    }

    @Test func manifestAndRegistrationDisagree() async throws {
        let manifest = Fixtures.probeManifest(tools: ["echo", "sleep", "ghost"])
        let error = try await loadError(defines: ["EXTRA_TOOL"], manifest: manifest)
        #expect(error.message.contains("does not declare:"))
        #expect(error.message.contains("undeclared"))
        #expect(error.message.contains("does not register: ghost"))
        #expect(error.message.contains("hang"), "every difference is named")
    }

    @Test func sameToolRegisteredTwice() async throws {
        let error = try await loadError(defines: ["REGISTER_TWICE"])
        #expect(error.message.contains("tool 'echo' is registered twice"))
    }

    @Test func nameMismatchBetweenLibraryAndManifest() async throws {
        let error = try await loadError(defines: ["PLUGIN_NAME=\"other\""])
        #expect(error.message.contains("says it is 'other'"))
    }

    @Test func sha256Mismatch() async throws {
        let manifest = Fixtures.probeManifest(sha256: String(repeating: "0", count: 64))
        let error = try await loadError(manifest: manifest)
        #expect(error.message.contains("sha256 mismatch"))
        #expect(error.message.contains("incomplete or was changed"))
    }

    @Test func matchingSha256Loads() async throws {
        let library = try await Fixtures.compile()
        let sum = LibraryStore.sha256(Array(try Data(contentsOf: URL(fileURLWithPath: library))))
        let (host, _) = try await Fixtures.probeHost(manifest: Fixtures.probeManifest(sha256: sum))
        let result = try await host.call("probe.echo", arguments: [:])
        #expect(result.json == [:])
    }

    @Test func notAnELFFile() async throws {
        let garbage = Fixtures.temporaryDirectory() + "/libprobe.so"
        try Data("#!/bin/sh\necho not a library\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let error = try await loadError(library: garbage)
        #expect(error.message.contains("not an ELF shared library"))
    }

    @Test func truncatedLibrary() async throws {
        let full = try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.compile()))
        let truncated = Fixtures.temporaryDirectory() + "/libprobe.so"
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: truncated))
        let error = try await loadError(library: truncated)
        #expect(error.message.contains("truncated"))
    }

    /// "ELF machine 183" told an author nothing; the processor is named, beside this host's.
    @Test func aLibraryForAnotherProcessorIsNamed() async throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try await Fixtures.compile())))
        #if arch(x86_64)
            let (machine, expected): (UInt8, String) = (183, "built for aarch64; this host is x86-64")
        #else
            let (machine, expected): (UInt8, String) = (62, "built for x86-64; this host is aarch64")
        #endif
        (bytes[18], bytes[19]) = (machine, 0)
        let foreign = Fixtures.temporaryDirectory() + "/libprobe.so"
        try Data(bytes).write(to: URL(fileURLWithPath: foreign))
        let error = try await loadError(library: foreign)
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(!error.message.contains("ELF machine"))
    }

    /// A C++ definition whose parameters differ from the header's prototype is an overload with a mangled name; the
    /// author is told to add extern "C", not to "define it with TOOLHOST_EXPORT", which they did.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/c++"), "no C++ compiler"))
    func aMangledCxxEntryIsNamed() async throws {
        let folder = Fixtures.temporaryDirectory("toolhost-mangled")
        let source = folder + "/mangled.cpp"
        try Data(
            """
            #include <toolhost/toolhost.h>
            static const toolhost_plugin_desc desc = {
                sizeof desc, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "probe", "1.0.0", nullptr, nullptr};
            TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(int, int) { return &desc; }
            """.utf8
        ).write(to: URL(fileURLWithPath: source))
        let library = folder + "/libprobe.so"
        let built = try await Fixtures.run(
            "/usr/bin/c++",
            [
                "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden", "-I", Fixtures.includeDirectory, source, "-o",
                library,
            ])
        #expect(built.status == 0, "\(built.stderr)")
        let error = try await loadError(library: library)
        #expect(
            error.message.contains("only under a C++ mangled name, '_Z21toolhost_plugin_entryii'"), "\(error.message)")
        #expect(error.message.contains("add extern \"C\""))
    }

    @Test func aSwiftLibraryWithItsOwnRuntimeIsRefusedBeforeLoading() async throws {
        let directory = Fixtures.temporaryDirectory("toolhost-swift")
        let source = directory + "/plugin.swift"
        try """
        @_cdecl("toolhost_plugin_entry")
        public func entry(_ major: UInt32, _ minor: UInt32) -> UnsafeRawPointer? { nil }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let swiftc = ProcessInfo.processInfo.environment["SWIFTC"] ?? "/opt/swift/usr/bin/swiftc"
        for (flags, name) in [(["-static-stdlib"], "libstatic.so"), ([], "libshared.so")] {
            let build = try await Fixtures.run(
                swiftc, ["-emit-library"] + flags + [source, "-o", directory + "/" + name])
            try #require(build.status == 0, "\(build.stderr)")
        }
        let error = try await loadError(library: directory + "/libstatic.so")
        #expect(error.message.contains("Swift runtime of its own"))
        // The same code linked to the shared runtime passes the check (and fails later, for its NULL entry).
        let shared = try await loadError(library: directory + "/libshared.so")
        #expect(shared.message.contains("returned NULL"))
    }

    @Test func missingLibraryFile() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        try Fixtures.install(in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: nil)
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        let error = await #expect(throws: ToolError.self) { _ = try await host.call("probe.echo", arguments: [:]) }
        #expect(error?.message.contains("does not exist") == true)
    }

    @Test func aBrokenManifestDoesNotStopOtherPlugins() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        try Fixtures.install(
            in: plugins, folder: "good", manifest: Fixtures.probeManifest(), libraryFrom: try await Fixtures.compile())
        try FileManager.default.createDirectory(atPath: plugins + "/broken", withIntermediateDirectories: true)
        try Data("{\"name\": ".utf8).write(to: URL(fileURLWithPath: plugins + "/broken/manifest.json"))
        try FileManager.default.createDirectory(atPath: plugins + "/empty", withIntermediateDirectories: true)
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        #expect(host.tools().count == Fixtures.probeTools.count)
        #expect(host.problems().count == 2)
        #expect(host.problems().contains { $0.directory.hasSuffix("/broken") && "\($0)".contains("not valid JSON") })
        #expect(host.problems().contains { $0.directory.hasSuffix("/empty") && "\($0)".contains("no manifest.json") })
        #expect(try await host.call("probe.echo", arguments: ["ok": true]).json == ["ok": true])
    }

    @Test func twoPluginsWithOneNameKeepTheFirst() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let library = try await Fixtures.compile()
        try Fixtures.install(in: plugins, folder: "a", manifest: Fixtures.probeManifest(), libraryFrom: library)
        try Fixtures.install(in: plugins, folder: "b", manifest: Fixtures.probeManifest(), libraryFrom: library)
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        #expect(host.plugins().count == 1)
        #expect(host.problems().first?.description.contains("already used by") == true)
    }

    /// A backup folder that sorts first, hot-added beside the serving plugin and claiming its name, does not take
    /// the name over: the plugin already serving keeps it, and the newcomer is refused naming both folders.
    @Test func aNewcomerClaimingAServingPluginsNameIsRefused() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        try Fixtures.install(
            in: plugins, folder: "peerkit", manifest: Fixtures.probeManifest(),
            libraryFrom: try await Fixtures.compile())
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        defer { host.shutdown() }
        #expect(try await host.call("probe.echo", arguments: ["from": "peerkit"]).json == ["from": "peerkit"])
        try Fixtures.install(
            in: plugins, folder: "0peerkit-backup", manifest: Fixtures.probeManifest(version: "0.9.0"),
            libraryFrom: try await Fixtures.compile())
        #expect(!host.reload(loadNewPlugins: true), "the tools did not change")
        #expect(host.plugins().map(\.directory) == [plugins + "/peerkit"])
        #expect(host.plugins().first?.version == "1.0.0")
        let problem = try #require(host.problems().first { $0.directory.hasSuffix("/0peerkit-backup") })
        #expect(problem.description.contains("already used by \(plugins)/peerkit"))
    }

    /// A folder anyone may write, or a library linked from outside its folder: `check` warns, the host loads with a
    /// warning, and under `strictFilePermissions` both refuse it naming the finding.
    @Test func anUnsafePluginFolderIsWarnedAboutAndRefusedWhenStrict() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-unsafe")
        let folder = try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: nil)
        // The library lives elsewhere; the folder holds a link to it.
        let elsewhere = Fixtures.temporaryDirectory("toolhost-elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try await Fixtures.compile(), toPath: elsewhere + "/libprobe.so")
        try FileManager.default.createSymbolicLink(
            atPath: folder + "/libprobe.so", withDestinationPath: elsewhere + "/libprobe.so")
        #expect(chmod(folder, 0o777) == 0)

        let report = await PluginCheck.run(
            directory: folder, logger: Logger(label: "test"), libraryStore: Fixtures.temporaryDirectory())
        #expect(report.problems.isEmpty)
        #expect(
            report.warnings.contains { $0.contains("plugin folder \(folder) is writable by every user (mode 0777)") })
        #expect(
            report.warnings.contains {
                $0.contains("is a symbolic link to") && $0.contains("outside the plugin folder")
            })
        let strict = await PluginCheck.run(
            directory: folder, logger: Logger(label: "test"), libraryStore: Fixtures.temporaryDirectory(),
            strictFilePermissions: true)
        #expect(strict.problems.count == 2)

        let lenient = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        defer { lenient.shutdown() }
        #expect(try await lenient.call("probe.echo", arguments: ["ok": true]).json == ["ok": true])
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory())
        configuration.strictFilePermissions = true
        let host = ToolHost(configuration: configuration)
        defer { host.shutdown() }
        guard case .failure(let error) = await host.call(ToolCall(tool: "probe.echo", arguments: [:])) else {
            Issue.record("an unsafe folder must be refused under strictFilePermissions")
            return
        }
        #expect(error.code == .pluginUnavailable)
        #expect(error.message.contains("strictFilePermissions") && error.message.contains("writable by every user"))
        #expect(chmod(folder, 0o755) == 0)
    }

    /// A C++ plugin that defines the entry without `extern "C"` still exports it unmangled: the header declares the
    /// prototype inside `extern "C"`, so the definition gets C linkage; the host loads it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/c++"), "no C++ compiler"))
    func aCxxPluginWithoutExternCLoads() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-cxx")
        let folder = plugins + "/cxx"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let source = folder + "/cxx.cpp"
        try Data(
            """
            #include <toolhost/toolhost.h>
            #include <cstring>
            static int32_t ping(const toolhost_call *call, const char *, size_t) {
                return call->host->write_result(call, "{\\"pong\\":true}", 13) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
            }
            static int32_t init(const toolhost_host_api *, const toolhost_registrar *reg, void **) {
                toolhost_tool_desc tool = {sizeof tool, TOOLHOST_TOOL_THREAD_SAFE, "ping", "pong", ping, nullptr};
                return reg->register_tool(reg, &tool) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
            }
            static const toolhost_plugin_desc desc = {
                sizeof desc, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "cxx", "1.0.0", init, nullptr};
            TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t, uint32_t) { return &desc; }
            """.utf8
        ).write(to: URL(fileURLWithPath: source))
        let built = try await Fixtures.run(
            "/usr/bin/c++",
            [
                "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden", "-I", Fixtures.includeDirectory, source, "-o",
                folder + "/libcxx.so",
            ])
        #expect(built.status == 0, "\(built.stderr)")
        try Fixtures.install(
            in: plugins, folder: "cxx",
            manifest: [
                "name": "cxx", "version": "1.0.0", "abi": ["major": 1, "minor": 1], "library": ["file": "libcxx.so"],
                "tools": [Fixtures.tool("ping")],
            ],
            libraryFrom: nil)
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        defer { host.shutdown() }
        #expect(try await host.call("cxx.ping", arguments: [:]).json == ["pong": true])
    }

    @Test func theLibraryIsCopiedSoReplacingTheFileChangesNothing() async throws {
        let (host, plugins) = try await Fixtures.probeHost()
        _ = try await host.call("probe.echo", arguments: [:])
        let loaded = try #require(host.registry.snapshot.plugins.first)
        guard case .loaded(let plugin) = loaded.state else {
            Issue.record("not loaded")
            return
        }
        #expect(plugin.libraryPath != plugins + "/probe/libprobe.so")
        #expect(plugin.libraryPath.contains(plugin.sha256))
        // Overwrite the original in place: the mapped copy is untouched and calls keep working.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: plugins + "/probe/libprobe.so"))
        #expect(try await host.call("probe.echo", arguments: ["still": "here"]).json == ["still": "here"])
    }

    @Test func concurrentFirstCallsShareOneLoad() async throws {
        let (host, _) = try await Fixtures.probeHost()
        let results = await host.batch((0..<16).map { ToolCall(tool: "probe.echo", arguments: ["i": .int(Int64($0))]) })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
    }

    @Test func pluginCheckReportsEachProblem() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let directory = try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(tools: ["echo", "ghost"]),
            libraryFrom: try await Fixtures.compile())
        let report = await PluginCheck.run(
            directory: directory, logger: .init(label: "test"), libraryStore: Fixtures.temporaryDirectory())
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.contains("ghost") == true)
        let clean = try Fixtures.install(
            in: plugins, folder: "clean", manifest: Fixtures.probeManifest(), libraryFrom: try await Fixtures.compile())
        let ok = await PluginCheck.run(
            directory: clean, logger: .init(label: "test"), libraryStore: Fixtures.temporaryDirectory())
        #expect(ok.problems.isEmpty)
        #expect(ok.summary.contains("\(Fixtures.probeTools.count) tools"))
    }
}
