import Foundation
import ToolHostJSON

/// A file the probe plugin's gated tools wait for (their `gate` argument, or `INIT_GATE`): a call or a load that
/// lasts exactly until the test opens it, however slow the machine, instead of a fixed sleep the test bets on.
package struct Gate: Sendable {
    /// The path to pass as the `gate` argument (it does not exist until ``open()``).
    package let path: String

    package init() {
        path = Fixtures.temporaryDirectory("toolhost-gate") + "/open"
    }

    /// The path as a JSON value, for a call's arguments.
    package var argument: JSONValue { .string(path) }

    /// Lets every call waiting on the gate go on (and any later one pass at once).
    package func open() {
        FileManager.default.createFile(atPath: path, contents: nil)
    }
}
