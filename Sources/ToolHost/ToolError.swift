/// The one error every front end maps from: a stable machine code and a human message.
///
/// Codes are opaque structs rather than an enum so that adding one never breaks a user's `switch`.
public struct ToolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable machine code (`not_found`, `invalid_arguments`, …).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code as it appears on the wire and in logs.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// No tool or plugin with that name.
        public static let notFound = Code("not_found")
        /// The arguments do not match the tool's input schema, or the tool rejected them.
        public static let invalidArguments = Code("invalid_arguments")
        /// The call passed its deadline.
        public static let timeout = Code("timeout")
        /// The caller cancelled the call.
        public static let cancelled = Code("cancelled")
        /// The host refused the call because its queue is full.
        public static let overloaded = Code("overloaded")
        /// The tool ran and reported a failure (or returned something that is not JSON).
        public static let pluginError = Code("plugin_error")
        /// The plugin's process died while running the call.
        public static let pluginCrashed = Code("plugin_crashed")
        /// The plugin could not be loaded, or is quarantined.
        public static let pluginUnavailable = Code("plugin_unavailable")
        /// A fault in the host itself.
        public static let `internal` = Code("internal")
        /// The caller may not call that tool (its token's tool patterns leave it out).
        public static let forbidden = Code("forbidden")

        /// Every code, in a stable order (for docs and exit-code tables).
        public static let all: [Code] = [
            .notFound, .invalidArguments, .timeout, .cancelled, .overloaded, .pluginError, .pluginCrashed,
            .pluginUnavailable, .internal, .forbidden,
        ]

        /// The code for a raw value, if it is one of ours.
        public init?(rawValue: String) {
            guard let known = Code.all.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = known
        }

        public var description: String { rawValue }
    }

    /// One offending value for `invalid_arguments`: the JSON pointer of the value and what is wrong with it.
    public struct Violation: Sendable, Hashable {
        /// JSON pointer (RFC 6901) of the offending value in the arguments; "" is the whole object.
        public var path: String
        /// What is wrong, for a person.
        public var message: String

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }
    }

    /// The machine code.
    public var code: Code
    /// What happened, to what, and what to do.
    public var message: String
    /// For `invalid_arguments`: each offending value.
    public var violations: [Violation]
    /// Where the error was raised in the host (for debugging, not for users).
    public var file: String
    public var line: Int
    /// For `plugin_error`: the tool said the failure was transient (`TOOLHOST_ERR_TRANSIENT`); a call by capability
    /// goes on to another provider.
    public internal(set) var isTransient = false

    public init(
        _ code: Code, _ message: String, violations: [Violation] = [], file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.violations = violations
        self.file = file
        self.line = line
    }

    public var description: String { "\(code): \(message)" }

    public static func == (lhs: ToolError, rhs: ToolError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.violations == rhs.violations
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
