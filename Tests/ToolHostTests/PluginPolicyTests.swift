import Foundation
import Logging
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// The operator's caps on a plugin's manifest policy (`Configuration.pluginPolicies`): each lowers the manifest's
/// value, none raises it.
@Suite struct PluginPolicyTests {
    private typealias Policy = ToolHost.Configuration.PluginPolicy

    private func host(
        _ toolPolicy: [String: JSONObject] = [:], _ policy: Policy
    ) async throws -> ToolHost {
        try await Fixtures.probeHost(manifest: Fixtures.probeManifest(toolPolicy: toolPolicy), isolated: true) {
            $0.pluginPolicies["probe"] = policy
        }.0
    }

    private func timeoutMessage(_ host: ToolHost) async -> String? {
        let result = await host.call(ToolCall(tool: "probe.sleep", arguments: ["ms": 5000]))
        guard case .failure(let error) = result, error.code == .timeout else { return nil }
        return error.message
    }

    @Test func aTimeoutCapLowersTheManifestTimeout() async throws {
        let host = try await host(["sleep": ["timeoutMs": 4000]], Policy(timeoutMs: 50))
        let message = await timeoutMessage(host)
        #expect(
            message?.contains("50 ms (the operator's timeoutMs for its plugin)") == true, "\(message ?? "no timeout")")
    }

    @Test func aTimeoutCapNeverRaisesTheManifestTimeout() async throws {
        let host = try await host(["sleep": ["timeoutMs": 50]], Policy(timeoutMs: 4000))
        let message = await timeoutMessage(host)
        #expect(message?.contains("50 ms (its timeoutMs)") == true, "\(message ?? "no timeout")")
    }

    @Test func concurrencyCapsLowerTheLimits() async throws {
        let host = try await host([:], Policy(toolMaxConcurrency: 3))
        _ = await host.batch((0..<24).map { _ in ToolCall(tool: "probe.gauge", arguments: ["ms": 20]) })
        #expect(try await host.call("probe.gauge_read", arguments: [:]).json["max"] == 3)
        let plugin = try await self.host([:], Policy(maxConcurrency: 2))
        _ = await plugin.batch((0..<16).map { _ in ToolCall(tool: "probe.gauge", arguments: ["ms": 20]) })
        #expect(try await plugin.call("probe.gauge_read", arguments: [:]).json["max"] == 2)
    }

    @Test func concurrencyCapsNeverRaiseTheManifest() async throws {
        let host = try await host(["gauge": ["maxConcurrency": 2]], Policy(maxConcurrency: 16, toolMaxConcurrency: 16))
        _ = await host.batch((0..<16).map { _ in ToolCall(tool: "probe.gauge", arguments: ["ms": 20]) })
        #expect(try await host.call("probe.gauge_read", arguments: [:]).json["max"] == 2)
    }

    @Test func aCacheTTLCapShortensOrDisablesCaching() async throws {
        let cached: JSONObject = ["deterministic": true, "cache": ["ttlSeconds": 3600]]
        let off = try await host(["echo": cached], Policy(cacheTTLSeconds: 0))
        _ = try await off.call("probe.echo", arguments: ["a": 1])
        #expect(try await off.call("probe.echo", arguments: ["a": 1]).cached == false)

        let short = try await host(["echo": cached], Policy(cacheTTLSeconds: 0.2))
        _ = try await short.call("probe.echo", arguments: ["a": 1])
        #expect(try await short.call("probe.echo", arguments: ["a": 1]).cached == true)
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await short.call("probe.echo", arguments: ["a": 1]).cached == false, "past the operator's TTL")
    }

    // MARK: caps on single tools

    @Test func aToolsCapLowersThatToolOnly() async throws {
        let host = try await host([:], Policy(tools: ["sleep": .init(timeoutMs: 50)]))
        let message = await timeoutMessage(host)
        #expect(message?.contains("50 ms (the operator's timeoutMs for this tool)") == true, "\(message ?? "none")")
        // Another tool of the plugin keeps the host's default.
        let hang = try await host.call("probe.hang", arguments: ["ms": 200])
        #expect(hang.json == ["done": true])
    }

    @Test func theSmallerOfThePluginsAndTheToolsCapWins() async throws {
        let toolSmaller = try await host([:], Policy(timeoutMs: 4000, tools: ["sleep": .init(timeoutMs: 50)]))
        let first = await timeoutMessage(toolSmaller)
        #expect(first?.contains("50 ms (the operator's timeoutMs for this tool)") == true, "\(first ?? "none")")
        let pluginSmaller = try await host([:], Policy(timeoutMs: 50, tools: ["sleep": .init(timeoutMs: 4000)]))
        let second = await timeoutMessage(pluginSmaller)
        #expect(second?.contains("50 ms (the operator's timeoutMs for its plugin)") == true, "\(second ?? "none")")
        // And the manifest's own timeout, when smaller, wins over both.
        let manifest = try await host(["sleep": ["timeoutMs": 50]], Policy(tools: ["sleep": .init(timeoutMs: 4000)]))
        let third = await timeoutMessage(manifest)
        #expect(third?.contains("50 ms (its timeoutMs)") == true, "\(third ?? "none")")
    }

    @Test func aToolsConcurrencyAndCacheCaps() async throws {
        let host = try await host(
            ["echo": ["deterministic": true, "cache": ["ttlSeconds": 3600]]],
            Policy(tools: ["gauge": .init(maxConcurrency: 3), "echo": .init(cacheTTLSeconds: 0)]))
        _ = await host.batch((0..<24).map { _ in ToolCall(tool: "probe.gauge", arguments: ["ms": 20]) })
        #expect(try await host.call("probe.gauge_read", arguments: [:]).json["max"] == 3)
        _ = try await host.call("probe.echo", arguments: ["a": 1])
        #expect(try await host.call("probe.echo", arguments: ["a": 1]).cached == false, "the tool's TTL cap is 0")
    }

    @Test func aCapOnAToolThePluginDoesNotDeclareIsLogged() async throws {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in lines.handler }
        let plugins = try await Fixtures.probeHost(isolated: true).1
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configuration.pluginPolicies["probe"] = Policy(tools: ["slep": .init(timeoutMs: 50)])
        _ = ToolHost(configuration: configuration, logger: logger)
        let warning = lines.all.first { $0.contains("does not declare") }
        #expect(warning?.contains("slep") == true, "\(lines.all)")
    }
}
