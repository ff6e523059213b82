import Foundation
import ToolHostJSON

/// Plugins that provide one capability, `answer`, built as a third party would: `probe.echo` (in process; answers
/// with its arguments) and `faults.answer` (in a worker process; `{"crash": 1}` crashes it, anything else is
/// answered with its variant and pid).
package enum CapabilityFixtures {
    /// The input schema both providers of `answer` declare.
    package static let answerSchema: JSONValue = [
        "type": "object", "properties": ["crash": ["type": "integer"], "text": ["type": "string"]],
    ]

    /// Every tool the faults plugin registers when built with `ANSWER_TOOL` (the manifest must name them all).
    package static let faultTools = [
        "ok", "pid", "segfault", "abort", "exit", "hang_forever", "busy_loop", "allocate_forever", "huge_result",
        "invalid_utf8", "invalid_json", "noisy", "close_stdio", "fork_linger", "late_calls", "variant",
        "sized_result", "inits", "forbidden_syscall", "network", "answer",
    ]

    /// The probe's manifest with `echo` providing `answer`; `policy` is merged into the named tools.
    package static func probeManifest(name: String = "probe", policy: [String: JSONObject] = [:]) -> JSONValue {
        var tools: [String: JSONObject] = ["echo": ["provides": ["answer"], "inputSchema": answerSchema]]
        for (tool, extra) in policy {
            var merged = tools[tool] ?? [:]
            for (key, value) in extra { merged.set(key, value) }
            tools[tool] = merged
        }
        return Fixtures.probeManifest(name: name, toolPolicy: tools)
    }

    /// The faults plugin's manifest, in process isolation, with `answer` providing `answer`.
    package static func faultsManifest(policy: [String: JSONObject] = [:]) -> JSONValue {
        var tools: [String: JSONObject] = ["answer": ["provides": ["answer"], "inputSchema": answerSchema]]
        for (tool, extra) in policy {
            var merged = tools[tool] ?? [:]
            for (key, value) in extra { merged.set(key, value) }
            tools[tool] = merged
        }
        return [
            "name": "faults", "version": "1.0.0", "abi": ["major": 1, "minor": 1], "library": ["file": "libfaults.so"],
            "isolation": "process", "tools": .array(faultTools.map { Fixtures.tool($0, tools[$0] ?? [:]) }),
        ]
    }

    /// Installs the faults provider (built with `ANSWER_TOOL`) in `plugins/faults`.
    package static func installFaults(in plugins: String, policy: [String: JSONObject] = [:]) async throws {
        try Fixtures.install(
            in: plugins, folder: "faults", manifest: faultsManifest(policy: policy),
            libraryFrom: try await Fixtures.compile("faults.c", defines: ["ANSWER_TOOL"]), libraryName: "libfaults.so")
    }

    /// Installs the probe provider in `plugins/<folder>`, built under the manifest's plugin name.
    package static func installProbe(
        in plugins: String, folder: String = "probe", manifest: JSONValue = probeManifest()
    ) async throws {
        let name = manifest["name"]?.stringValue ?? "probe"
        let defines = name == "probe" ? [] : ["PLUGIN_NAME=\"\(name)\""]
        try Fixtures.install(
            in: plugins, folder: folder, manifest: manifest, libraryFrom: try await Fixtures.compile(defines: defines))
    }

    /// A plugins directory with both providers of `answer`; `probe` and `faults` are merged into their tools.
    package static func plugins(
        probe: [String: JSONObject] = [:], faults: [String: JSONObject] = [:]
    ) async throws -> String {
        let plugins = Fixtures.temporaryDirectory("toolhost-capabilities")
        try await installProbe(in: plugins, manifest: probeManifest(policy: probe))
        try await installFaults(in: plugins, policy: faults)
        return plugins
    }
}
