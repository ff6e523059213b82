extension JSONValue {
    /// Parses one JSON value from UTF-8 bytes, strictly per RFC 8259.
    ///
    /// Rejects trailing commas, leading zeros, `NaN`/`Infinity`, unescaped control characters, ill-formed UTF-8
    /// (including overlong forms and encoded surrogates), lone surrogate `\u` escapes, duplicate object keys,
    /// numbers too large for a `Double`, nesting deeper than `options.maxDepth` and anything after the value
    /// other than whitespace.
    /// - Parameters:
    ///   - bytes: the UTF-8 text.
    ///   - options: parsing limits.
    /// - Returns: the parsed value.
    /// - Throws: ``JSONParseError`` with a code, position and a message saying what was expected.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, options: JSONParseOptions = JSONParseOptions()
    ) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes, options: options)
        return try parser.parseDocument()
    }

    /// Parses one JSON value from UTF-8 bytes. See ``parse(_:options:)-(UnsafeRawBufferPointer,_)``.
    /// - Parameters:
    ///   - bytes: the UTF-8 text.
    ///   - options: parsing limits.
    /// - Returns: the parsed value.
    /// - Throws: ``JSONParseError``.
    public static func parse(_ bytes: [UInt8], options: JSONParseOptions = JSONParseOptions()) throws(JSONParseError)
        -> JSONValue
    {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) in try parse(raw, options: options) }
        }
        return try result.get()
    }

    /// Parses one JSON value from any collection of UTF-8 bytes (e.g. `ArraySlice<UInt8>`, `Data`).
    /// - Parameters:
    ///   - bytes: the UTF-8 text.
    ///   - options: parsing limits.
    /// - Returns: the parsed value.
    /// - Throws: ``JSONParseError``.
    public static func parse<Bytes: Collection<UInt8>>(
        _ bytes: Bytes, options: JSONParseOptions = JSONParseOptions()
    ) throws(JSONParseError) -> JSONValue {
        let contiguous: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try parse(UnsafeRawBufferPointer(buffer), options: options) }
        }
        if let contiguous { return try contiguous.get() }
        return try parse(Array(bytes), options: options)
    }

    /// Parses one JSON value from a string.
    /// - Parameters:
    ///   - text: the JSON text.
    ///   - options: parsing limits.
    /// - Returns: the parsed value.
    /// - Throws: ``JSONParseError``.
    public static func parse(_ text: String, options: JSONParseOptions = JSONParseOptions()) throws(JSONParseError)
        -> JSONValue
    {
        var text = text
        let result: Result<JSONValue, JSONParseError> = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try parse(UnsafeRawBufferPointer(buffer), options: options) }
        }
        return try result.get()
    }

    /// Checks that bytes are one strictly valid JSON value (same rules as ``parse(_:options:)-(UnsafeRawBufferPointer,_)``)
    /// without building a tree.
    /// - Parameters:
    ///   - utf8: the UTF-8 text.
    ///   - options: parsing limits.
    /// - Throws: ``JSONParseError`` describing the first problem.
    public static func validate(utf8: UnsafeRawBufferPointer, options: JSONParseOptions = JSONParseOptions())
        throws(JSONParseError)
    {
        var parser = JSONParser(utf8, options: options)
        try parser.validateDocument()
    }

    /// Checks that bytes are one strictly valid JSON value without building a tree.
    /// - Parameters:
    ///   - utf8: the UTF-8 text.
    ///   - options: parsing limits.
    /// - Throws: ``JSONParseError`` describing the first problem.
    public static func validate(utf8: [UInt8], options: JSONParseOptions = JSONParseOptions()) throws(JSONParseError) {
        let result: Result<Void, JSONParseError> = utf8.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) in try validate(utf8: raw, options: options) }
        }
        try result.get()
    }

    /// Checks that a string is one strictly valid JSON value without building a tree.
    /// - Parameters:
    ///   - text: the JSON text.
    ///   - options: parsing limits.
    /// - Throws: ``JSONParseError`` describing the first problem.
    public static func validate(_ text: String, options: JSONParseOptions = JSONParseOptions()) throws(JSONParseError) {
        var text = text
        let result: Result<Void, JSONParseError> = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try validate(utf8: UnsafeRawBufferPointer(buffer), options: options) }
        }
        try result.get()
    }

    /// Whether bytes are one strictly valid JSON value; builds no tree.
    /// - Parameters:
    ///   - utf8: the UTF-8 text.
    ///   - options: parsing limits.
    /// - Returns: `true` when ``validate(utf8:options:)-(UnsafeRawBufferPointer,_)`` would not throw.
    public static func isValid(utf8: UnsafeRawBufferPointer, options: JSONParseOptions = JSONParseOptions()) -> Bool {
        (try? validate(utf8: utf8, options: options)) != nil
    }

    /// Whether bytes are one strictly valid JSON value; builds no tree.
    /// - Parameters:
    ///   - utf8: the UTF-8 text.
    ///   - options: parsing limits.
    /// - Returns: `true` when the bytes are valid JSON.
    public static func isValid(utf8: [UInt8], options: JSONParseOptions = JSONParseOptions()) -> Bool {
        (try? validate(utf8: utf8, options: options)) != nil
    }

    /// Whether a string is one strictly valid JSON value; builds no tree.
    /// - Parameters:
    ///   - text: the JSON text.
    ///   - options: parsing limits.
    /// - Returns: `true` when the text is valid JSON.
    public static func isValid(_ text: String, options: JSONParseOptions = JSONParseOptions()) -> Bool {
        (try? validate(text, options: options)) != nil
    }
}
