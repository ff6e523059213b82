import ArgumentParser
import Foundation
import ToolHost
import ToolHostJSON
import ToolHostServer

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List every tool with its plugin, description and policy.")

    @OptionGroup var settings: SettingsOptions

    @Flag(
        name: .long,
        help: "Print a JSON array (name, plugin, version, description, inputSchema, policy), as GET /v1/tools.")
    var json = false

    func run() throws {
        let (toolHost, read) = try settings.makeHost("list")
        defer { toolHost.shutdown() }
        let tools = toolHost.tools()
        for problem in toolHost.problems() {
            printError("warning: plugin not listed: \(problem)")
        }
        for tool in tools {
            for warning in tool.manifest.inapplicablePolicies(threadSafe: tool.manifest.declaredThreadSafe) {
                printError("warning: \(tool.name.split(separator: ".").first ?? ""): \(warning)")
            }
        }
        if json {
            CommandOutput.writeLine(JSONValue.array(tools.map(\.wireJSON)).serialized())
            return
        }
        if tools.isEmpty {
            printError("no tools found in \(read.host.pluginsDirectory)")
            return
        }
        let width = tools.map(\.name.count).max() ?? 0
        for tool in tools {
            let name = tool.name.padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(name)  \(tool.manifest.description)")
            print(String(repeating: " ", count: width + 2) + Self.policy(tool.manifest))
        }
    }

    static func policy(_ tool: ToolManifest) -> String {
        var parts: [String] = []
        if tool.deterministic {
            parts.append(
                "deterministic, cached \(tool.cache.ttlSeconds.map { "\(formatSeconds($0))" } ?? "default TTL")")
        } else if tool.idempotent {
            parts.append("idempotent")
        }
        if let timeout = tool.timeoutMs { parts.append("timeout \(timeout) ms") }
        if tool.priority != 0 { parts.append("priority \(tool.priority)") }
        if let concurrency = tool.maxConcurrency {
            // A tool the manifest itself says is not thread-safe runs one call at a time, whatever it asks.
            parts.append(
                tool.declaredThreadSafe == false && concurrency > 1 ? "one at a time" : "max \(concurrency) at once")
        }
        // Only a deterministic or idempotent tool is retried: for any other, attempts are not a policy it has.
        if tool.retries.maxAttempts > 1, tool.deterministic || tool.idempotent {
            parts.append("\(tool.retries.maxAttempts) attempts")
        }
        if !tool.capabilities.isEmpty { parts.append("needs " + tool.capabilities.joined(separator: ", ")) }
        if !tool.provides.isEmpty { parts.append("provides " + tool.provides.joined(separator: ", ")) }
        return parts.isEmpty ? "(default policy)" : "(" + parts.joined(separator: "; ") + ")"
    }

    static func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
