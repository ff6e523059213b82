import Foundation
import Testing
import ToolHostJSON

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
}
