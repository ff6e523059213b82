import Foundation
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

/// `toolhost check` runs the plugin: each tool's manifest `examples` and one-off calls go through a worker process,
/// and policies that cannot apply are warned about.
struct PluginCheckTests {
    private func check(
        _ manifest: JSONValue, library: String, libraryName: String = "libprobe.so",
        calls: [PluginCheck.OneOffCall] = []
    ) throws -> (String, @Sendable () async -> PluginCheck.Report) {
        let directory = try Fixtures.install(
            in: Fixtures.temporaryDirectory("toolhost-check"), folder: "plugin", manifest: manifest,
            libraryFrom: library, libraryName: libraryName)
        let store = Fixtures.temporaryDirectory()
        return (
            directory,
            {
                await PluginCheck.run(
                    directory: directory, logger: .init(label: "test"), libraryStore: store,
                    workerExecutable: Fixtures.binary, calls: calls)
            }
        )
    }

    @Test func aHandlerThatCrashesOrAnswersWronglyFailsTheCheckAndTheCheckGoesOn() async throws {
        let examples: [String: JSONObject] = [
            "ok": ["examples": [["arguments": [:], "result": ["ok": true]], ["arguments": [:], "result": "wrong"]]],
            "segfault": ["examples": [["arguments": ["why": "test"]]]],
            "pid": ["examples": [["arguments": [:], "error": "invalid_arguments"]]],
        ]
        let tools = IsolationTests.faultTools.map { Fixtures.tool($0, examples[$0] ?? [:]) }
        let manifest: JSONValue = [
            "name": "faults", "version": "1.0.0", "abi": ["major": 1, "minor": 1],
            "library": ["file": "libfaults.so"], "tools": .array(tools),
        ]
        let (_, run) = try check(manifest, library: try await Fixtures.compile("faults.c"), libraryName: "libfaults.so")
        let report = await run()
        #expect(report.problems.count == 3, "\(report.problems)")
        #expect(
            report.problems.contains {
                $0.hasPrefix(#"tool 'ok', example 2 {}: answered {"ok":true}, expected "wrong""#)
            })
        #expect(!report.problems.contains { $0.contains("example 1 {}: answered") && $0.contains("'ok'") })
        #expect(
            report.problems.contains {
                $0.hasPrefix(#"tool 'segfault', example 1 {"why":"test"}: failed with plugin_crashed"#)
            }, "\(report.problems)")
        #expect(
            report.problems.contains {
                $0.hasPrefix("tool 'pid', example 1 {}: answered")
                    && $0.contains("expected the error invalid_arguments")
            })
    }

    @Test func examplesThatHoldPassAndCheckCallMakesAOneOffCall() async throws {
        let manifest = Fixtures.probeManifest(
            toolPolicy: [
                "echo": ["examples": [["arguments": ["a": [1, "two"]], "result": ["a": [1, "two"]]]]],
                "reject": ["examples": [["arguments": ["x": 3], "error": "invalid_arguments"]]],
            ])
        let (_, run) = try check(
            manifest, library: try await Fixtures.compile(),
            calls: [.init(tool: "echo", arguments: ["b": true]), .init(tool: "probe.reject", arguments: [:])])
        let report = await run()
        #expect(report.summary.hasSuffix("; 2 examples answered as declared"), "\(report.summary)")
        #expect(report.answers == [#"probe.echo {"b":true} -> {"b":true}"#])
        #expect(
            report.problems == [
                "--call probe.reject {}: failed with invalid_arguments: tool 'probe.reject' rejected its arguments: x must "
                    + "be even"
            ])
    }

    @Test func policiesThatCannotApplyAreWarnedAbout() async throws {
        let manifest = Fixtures.probeManifest(
            toolPolicy: [
                "serial": ["maxConcurrency": 8],
                "echo": ["maxConcurrency": 8, "retries": ["maxAttempts": 3], "idempotent": true],
                "fail": ["retries": ["maxAttempts": 3]],
            ])
        let (_, run) = try check(manifest, library: try await Fixtures.compile())
        let report = await run()
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.warnings.count == 2, "\(report.warnings)")
        #expect(
            report.warnings.contains {
                $0.hasPrefix("tool 'serial': maxConcurrency 8 cannot apply: the tool is not registered thread-safe")
            })
        #expect(
            report.warnings.contains {
                $0.hasPrefix("tool 'fail': retries (maxAttempts 3) never apply: only a deterministic or idempotent")
            })
    }
}
