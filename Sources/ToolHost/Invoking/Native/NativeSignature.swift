import ToolHostJSON

/// The C prototype of a typed native tool: a return type and named parameters.
///
/// Written as a C-like prototype without the function name, the same in `manifest.json` and in the C ABI:
/// `"double (double x, double y)"`, `"uint32 (string a, string b)"`, `"void ()"`.
public struct NativeSignature: Sendable, Hashable, CustomStringConvertible {
    /// The types a parameter or return value may have.
    public enum ValueType: String, Sendable, Hashable, CaseIterable {
        case bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float, double
        /// `const char *`, NUL-terminated UTF-8.
        case string
        /// Two C arguments, `const uint8_t *data, size_t length`, given in JSON as a UTF-8 string.
        case buffer
        /// Like `buffer`, given in JSON as a base64 string.
        case bufferBase64 = "buffer_base64"
        /// No value (return type only).
        case void

        var isBuffer: Bool { self == .buffer || self == .bufferBase64 }

        /// The range of an integer type.
        var integerRange: (min: Int64, max: UInt64)? {
            switch self {
            case .int8: (Int64(Int8.min), UInt64(Int8.max))
            case .int16: (Int64(Int16.min), UInt64(Int16.max))
            case .int32: (Int64(Int32.min), UInt64(Int32.max))
            case .int64: (Int64.min, UInt64(Int64.max))
            case .uint8: (0, UInt64(UInt8.max))
            case .uint16: (0, UInt64(UInt16.max))
            case .uint32: (0, UInt64(UInt32.max))
            case .uint64: (0, UInt64.max)
            default: nil
            }
        }
    }

    /// One named parameter.
    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var type: ValueType
        public init(name: String, type: ValueType) {
            self.name = name
            self.type = type
        }
    }

    /// What is wrong with a signature, for a person.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    public var returns: ValueType
    public var parameters: [Parameter]

    public init(returns: ValueType, parameters: [Parameter]) {
        self.returns = returns
        self.parameters = parameters
    }

    /// Parses `"double (double x, double y)"`.
    /// - Throws: `ParseError` naming the misspelt type, the missing name or the unsupported combination.
    public init(parsing text: String) throws(ParseError) {
        let trimmed = text.trimmingWhitespace()
        guard let open = trimmed.firstIndex(of: "("), trimmed.hasSuffix(")") else {
            throw ParseError(description: "'\(text)' is not of the form 'returnType (type name, …)'")
        }
        let returnName = String(trimmed[..<open]).trimmingWhitespace()
        returns = try Self.type(named: returnName, in: text)
        if returns.isBuffer {
            throw ParseError(
                description: "'\(text)': a buffer cannot be returned (return a string, or write a JSON handler)")
        }
        let inside = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
        let list = inside.trimmingWhitespace()
        var parameters: [Parameter] = []
        if !list.isEmpty && list != "void" {
            for piece in list.split(separator: ",", omittingEmptySubsequences: false) {
                let words = piece.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard words.count == 2 else {
                    throw ParseError(
                        description: "'\(text)': each parameter needs a type and a name, as in 'double x' "
                            + "(found '\(piece.trimmingWhitespace())')")
                }
                let type = try Self.type(named: words[0], in: text)
                if type == .void {
                    throw ParseError(description: "'\(text)': a parameter cannot be void")
                }
                let name = words[1]
                guard name.first.map({ $0.isLetter || $0 == "_" }) == true,
                    name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
                else {
                    throw ParseError(description: "'\(text)': '\(name)' is not a valid parameter name")
                }
                if parameters.contains(where: { $0.name == name }) {
                    throw ParseError(description: "'\(text)': parameter '\(name)' appears twice")
                }
                parameters.append(Parameter(name: name, type: type))
            }
        }
        self.parameters = parameters
    }

    private static func type(named name: String, in text: String) throws(ParseError) -> ValueType {
        if let type = ValueType(rawValue: name) { return type }
        let known = ValueType.allCases.map(\.rawValue).joined(separator: ", ")
        throw ParseError(description: "'\(text)': unknown type '\(name)' (known: \(known))")
    }

    /// The canonical text, as `init(parsing:)` reads it.
    public var description: String {
        "\(returns.rawValue) (" + parameters.map { "\($0.type.rawValue) \($0.name)" }.joined(separator: ", ") + ")"
    }

    /// The tool's input schema, generated from the signature: every parameter required, integer ranges from
    /// the C width, nothing else allowed.
    public var inputSchema: JSONValue {
        var properties = JSONObject()
        for parameter in parameters {
            properties.set(parameter.name, Self.schema(for: parameter.type))
        }
        return [
            "type": "object",
            "properties": .object(properties),
            "required": .array(parameters.map { .string($0.name) }),
            "additionalProperties": false,
        ]
    }

    private static func schema(for type: ValueType) -> JSONValue {
        switch type {
        case .bool:
            return ["type": "boolean"]
        case .float:
            return ["type": "number", "description": "a C float (finite, magnitude at most 3.4028235e38)"]
        case .double:
            return ["type": "number", "description": "a C double"]
        case .string:
            return ["type": "string", "description": "UTF-8 text without NUL characters"]
        case .buffer:
            return ["type": "string", "description": "bytes, given as UTF-8 text"]
        case .bufferBase64:
            return ["type": "string", "contentEncoding": "base64", "description": "bytes, given as base64"]
        case .void:
            return ["type": "null"]
        default:
            let range = type.integerRange!
            let maximum: JSONValue =
                range.max <= UInt64(Int64.max) ? .int(Int64(range.max)) : .double(Double(range.max))
            return ["type": "integer", "minimum": .int(range.min), "maximum": maximum, "description": "a C \(type)"]
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
