/// Why a JSON Schema could not be compiled.
public struct JSONSchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, opaque error code. Compare against the static members; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's stable name, e.g. `"unsupported-keyword"`.
        public let name: String
        init(_ name: String) { self.name = name }
        /// The code's stable name.
        public var description: String { name }

        /// A keyword toolhost does not implement (`unevaluatedProperties`, `$dynamicRef`, …) or does not know.
        public static let unsupportedKeyword = Code("unsupported-keyword")
        /// A `$ref` to another document (remote or relative URI); only references within the schema are resolved.
        public static let unsupportedReference = Code("unsupported-reference")
        /// An `$id` below the root; embedded resources are not supported.
        public static let unsupportedIdentifier = Code("unsupported-identifier")
        /// A `$schema` other than draft 2020-12.
        public static let unsupportedDialect = Code("unsupported-dialect")
        /// A keyword whose value is malformed (e.g. `"minimum": "x"`, `"required": [1]`).
        public static let invalidKeywordValue = Code("invalid-keyword-value")
        /// A `pattern` or `patternProperties` key that is not a valid ECMA-262 regular expression, or that uses what
        /// toolhost cannot match in linear time (back-references, lookaround) or would compile too large.
        public static let invalidPattern = Code("invalid-pattern")
        /// A `$ref` whose target does not exist in the schema.
        public static let unresolvableReference = Code("unresolvable-reference")
        /// A schema that is neither an object nor a Boolean.
        public static let invalidSchema = Code("invalid-schema")
        /// References that apply to the same value in a cycle (e.g. `{"allOf": [{"$ref": "#"}]}`), which would
        /// never terminate.
        public static let infiniteRecursion = Code("infinite-recursion")
    }

    /// What went wrong.
    public let code: Code
    /// The keyword at fault, when there is one.
    public let keyword: String?
    /// Where in the schema the problem is (the keyword's own location when there is a keyword).
    public let schemaPath: JSONPointer
    /// A human-readable description saying what was wrong and what to do.
    public let message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: the stable code.
    ///   - keyword: the keyword at fault.
    ///   - schemaPath: the location in the schema.
    ///   - message: the full message.
    public init(code: Code, keyword: String?, schemaPath: JSONPointer, message: String) {
        self.code = code
        self.keyword = keyword
        self.schemaPath = schemaPath
        self.message = message
    }

    /// Whether the schema uses a feature toolhost deliberately does not support (as opposed to being malformed).
    public var isUnsupported: Bool {
        code == .unsupportedKeyword || code == .unsupportedReference || code == .unsupportedIdentifier
            || code == .unsupportedDialect
    }

    /// The message.
    public var description: String { message }
}

/// One way an instance fails a schema.
public struct JSONSchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// The location of the offending value in the instance.
    public let instancePath: JSONPointer
    /// The keyword that failed, e.g. `"maximum"`.
    public let keyword: String
    /// The location of that keyword in the schema (after following `$ref`s).
    public let schemaPath: JSONPointer
    /// A human-readable message starting with the instance path, e.g. `/age: 300 is greater than the maximum 150`.
    public let message: String

    /// Creates a violation.
    /// - Parameters:
    ///   - instancePath: the offending value's location.
    ///   - keyword: the failing keyword.
    ///   - schemaPath: the keyword's location in the schema.
    ///   - message: the full message.
    public init(instancePath: JSONPointer, keyword: String, schemaPath: JSONPointer, message: String) {
        self.instancePath = instancePath
        self.keyword = keyword
        self.schemaPath = schemaPath
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
