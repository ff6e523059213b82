import ArgumentParser
import Foundation
import ToolHost

/// `--agent NAME`: who makes the calls of `call` and `batch` (named in log lines and counted per agent).
struct AgentOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Who makes the calls, named in log lines: 1 to 64 letters, digits and _ . - : @ / (default: your user "
                + "name).",
            valueName: "name"))
    var agent: String?

    func validate() throws {
        if let agent, !ToolCall.isValidAgentName(agent) {
            throw ValidationError(
                "--agent '\(agent)' is not an agent name: 1 to 64 letters, digits and _ . - : @ /, starting with a "
                    + "letter or digit")
        }
    }

    /// The agent given, else the user's login name (when it is a valid agent name), else `anonymous`.
    var name: String {
        if let agent { return agent }
        if let entry = getpwuid(geteuid()), let login = entry.pointee.pw_name {
            let name = String(cString: login)
            if ToolCall.isValidAgentName(name) { return name }
        }
        return "anonymous"
    }
}
