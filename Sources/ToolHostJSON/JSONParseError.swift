/// Why a JSON text was rejected, and where.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, opaque error code. Compare against the static members; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's stable name, e.g. `"unexpected-character"`.
        public let name: String
        init(_ name: String) { self.name = name }
        /// The code's stable name.
        public var description: String { name }

        /// The input ended before the value was complete.
        public static let unexpectedEndOfInput = Code("unexpected-end-of-input")
        /// A byte that cannot appear here (including trailing commas, `NaN`, `Infinity`, comments).
        public static let unexpectedCharacter = Code("unexpected-character")
        /// A malformed number (leading zeros, missing digits).
        public static let invalidNumber = Code("invalid-number")
        /// A number whose magnitude does not fit in a `Double`.
        public static let numberOutOfRange = Code("number-out-of-range")
        /// An unescaped control character (U+0000 to U+001F) inside a string.
        public static let controlCharacterInString = Code("control-character-in-string")
        /// An unknown escape sequence or malformed `\u` escape.
        public static let invalidEscape = Code("invalid-escape")
        /// A `\u` escape for a lone UTF-16 surrogate.
        public static let loneSurrogate = Code("lone-surrogate")
        /// Bytes that are not well-formed UTF-8 (including overlong forms and encoded surrogates).
        public static let invalidUTF8 = Code("invalid-utf8")
        /// An object with the same key twice.
        public static let duplicateKey = Code("duplicate-key")
        /// Non-whitespace after the top-level value.
        public static let trailingData = Code("trailing-data")
        /// Arrays and objects nested deeper than the configured limit.
        public static let nestingTooDeep = Code("nesting-too-deep")
    }

    /// What went wrong.
    public let code: Code
    /// The byte offset (0-based) of the problem in the input.
    public let offset: Int
    /// The 1-based line of the problem.
    public let line: Int
    /// The 1-based column of the problem, counted in Unicode scalars.
    public let column: Int
    /// A human-readable description that says what was expected, including the line and column.
    public let message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: the stable code.
    ///   - offset: byte offset of the problem.
    ///   - line: 1-based line.
    ///   - column: 1-based column.
    ///   - message: the full human-readable message.
    public init(code: Code, offset: Int, line: Int, column: Int, message: String) {
        self.code = code
        self.offset = offset
        self.line = line
        self.column = column
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// Options for parsing and validating JSON text.
public struct JSONParseOptions: Sendable, Hashable {
    /// The deepest nesting of arrays and objects accepted; deeper input fails with ``JSONParseError/Code/nestingTooDeep``.
    public var maxDepth: Int

    /// Creates options.
    /// - Parameter maxDepth: the nesting limit, 512 by default.
    public init(maxDepth: Int = 512) {
        self.maxDepth = maxDepth
    }
}
