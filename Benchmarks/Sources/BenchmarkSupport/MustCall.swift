import ToolHost
import ToolHostJSON

/// Calls a tool and stops the run if it fails: a benchmark of errors would measure the wrong thing.
@inlinable
public func mustCall(_ host: ToolHost, _ tool: String, _ arguments: JSONValue = [:]) async -> ToolResult {
    do {
        return try await host.call(tool, arguments: arguments)
    } catch {
        fatalError("\(tool) failed: \(error)")
    }
}
