import Logging

extension ToolHost {
    /// Logs a failed call with `plugin.name`, `tool.name`, `error.code` and the caller's `agent`: at notice what an operator acts on
    /// (timeouts, crashes, unloadable plugins, internal faults; the daemon logs at info, the CLI, which prints
    /// the error itself, at warning), at debug what the caller caused or was told (bad arguments, a tool's own
    /// refusal, overload, cancellation), so a flood of those costs a level check.
    func logFailure(_ error: ToolError, tool: String, plugin: String, agent: String? = nil) {
        let level: Logger.Level =
            switch error.code {
            case .timeout, .pluginCrashed, .pluginUnavailable, .internal: .notice
            default: .debug
            }
        guard logger.logLevel <= level else { return }
        // One line per tool and error code per second: a quarantined plugin's fast failures, or a tool that times
        // out on every call, do not flood the log; the line that goes out counts the ones held back.
        guard let heldBack = failureLogLimiter.admit(tool + "\u{0}" + error.code.rawValue) else { return }
        var metadata: Logger.Metadata = [
            "plugin.name": "\(plugin)", "tool.name": "\(tool)", "error.code": "\(error.code.rawValue)",
        ]
        if heldBack > 0 { metadata["log.suppressed"] = "\(heldBack)" }
        if let agent { metadata["agent"] = "\(agent)" }
        logger.log(level: level, "call failed: \(error.message)", metadata: metadata)
    }
}
