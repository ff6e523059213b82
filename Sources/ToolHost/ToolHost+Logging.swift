import Logging

extension ToolHost {
    /// Logs a failed call with `plugin.name`, `tool.name` and `error.code`: at notice what an operator acts on
    /// (timeouts, crashes, unloadable plugins, internal faults; the daemon logs at info, the CLI, which prints
    /// the error itself, at warning), at debug what the caller caused or was told (bad arguments, a tool's own
    /// refusal, overload, cancellation), so a flood of those costs a level check.
    func logFailure(_ error: ToolError, tool: String, plugin: String) {
        let level: Logger.Level =
            switch error.code {
            case .timeout, .pluginCrashed, .pluginUnavailable, .internal: .notice
            default: .debug
            }
        guard logger.logLevel <= level else { return }
        logger.log(
            level: level, "call failed: \(error.message)",
            metadata: ["plugin.name": "\(plugin)", "tool.name": "\(tool)", "error.code": "\(error.code.rawValue)"])
    }
}
