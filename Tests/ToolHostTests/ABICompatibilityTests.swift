import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// Plugins built by their authors against an earlier header keep loading and running on today's host: the fixture
/// `old_abi.c` is compiled against the headers of ABI 1.0 and 1.1 exactly as released (`Fixtures/abi/`, frozen
/// copies), never against today's `plugin-sdk/include`, and called in process and in a worker process.
@Suite struct ABICompatibilityTests {
    static func build(against minor: Int) async throws -> String {
        let output = Fixtures.temporaryDirectory("toolhost-abi") + "/libold_abi.so"
        let result = try await Fixtures.run(
            "/usr/bin/cc",
            [
                "-std=c11", "-Wall", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
                "-I", Fixtures.fixtureSources + "/abi/1.\(minor)", Fixtures.fixtureSources + "/old_abi.c",
                "-o", output,
            ])
        guard result.status == 0 else { throw FixtureError("cc failed against ABI 1.\(minor): \(result.stderr)") }
        return output
    }

    @Test(arguments: [0, 1], [false, true])
    func aPluginBuiltAgainstAnOlderHeaderLoadsAndRuns(minor: Int, isolated: Bool) async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        var manifest: JSONObject = [
            "name": "old_abi", "version": "1.0.0", "abi": ["major": 1, "minor": .int(Int64(minor))],
            "library": ["file": "libold_abi.so"],
            "tools": [Fixtures.tool("echo"), Fixtures.tool("about")],
        ]
        if isolated { manifest.set("isolation", "process") }
        try Fixtures.install(
            in: plugins, folder: "old_abi", manifest: .object(manifest),
            libraryFrom: try await Self.build(against: minor),
            libraryName: "libold_abi.so")
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configuration.isolation.workerExecutable = Fixtures.binary
        let host = ToolHost(configuration: configuration)
        defer { host.shutdown() }

        #expect(try await host.call("old_abi.echo", arguments: ["n": 1, "s": "é"]).json == ["n": 1, "s": "é"])
        let about = try await host.call("old_abi.about", arguments: [:]).json
        #expect(about["built"] == .int(Int64(minor)), "the plugin was built against the old header: \(about)")
        #expect(about["hostMinor"] == .int(Int64(HostABI.minor)), "and runs on today's host: \(about)")
        // The host's table is today's, larger than the one the plugin knows: it reads only its own prefix.
        let hostBytes = about["hostTableBytes"]?.intValue ?? 0
        let knownBytes = about["knownTableBytes"]?.intValue ?? .max
        #expect(hostBytes > knownBytes, "\(about)")
        #expect(about["cancelled"] == 0)
        #expect(host.plugins().first?.state == .loaded)
    }
}
