/// A JSON value.
///
/// Integers that fit in `Int64` are kept exactly as ``int(_:)``; every other number is a ``double(_:)``
/// (including integer literals too large for `Int64`). Equality and hashing follow JSON Schema
/// semantics: numbers compare by mathematical value, so `1`, `1.0` and `1e0` are equal; strings
/// and object keys compare by Unicode code points (not by Swift's canonical equivalence); objects
/// compare without regard to member order.
public enum JSONValue: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// An integer that fits in `Int64`.
    case int(Int64)
    /// Any other number. Parsed values are always finite.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object with insertion-ordered members.
    case object(JSONObject)
}

// MARK: - Accessors

extension JSONValue {
    /// The string, if this is a string.
    @inlinable public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer value, if this is an integer or a double with an integral value within `Int64` range.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d): return JSONNumber.exactInt64(d)
        default: return nil
        }
    }

    /// The numeric value as a `Double`, if this is a number (large integers may be rounded).
    @inlinable public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The Boolean, if this is `true` or `false`.
    @inlinable public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, if this is an array.
    @inlinable public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members, if this is an object.
    @inlinable public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Whether this is `null`.
    @inlinable public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Whether this is a number (integer or double).
    @inlinable public var isNumber: Bool {
        switch self {
        case .int, .double: return true
        default: return false
        }
    }

    /// The member named `key`, if this is an object that has it.
    @inlinable public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The element at `index`, if this is an array and the index is in bounds.
    @inlinable public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    /// The JSON Schema type name: `"null"`, `"boolean"`, `"integer"`, `"number"`, `"string"`, `"array"` or
    /// `"object"`. A double with an integral value (such as `1.0`) is an `"integer"`, as JSON Schema specifies.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double(let d): return d.isFinite && d.rounded(.towardZero) == d ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

// MARK: - Equality and hashing

extension JSONValue: Hashable {
    /// JSON equality: numbers by value (`1 == 1.0`), strings by code points, objects regardless of member order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)):
            return JSONNumber.compare(int: a, double: b) == 0
        case (.string(let a), .string(let b)): return JSONText.equal(a, b)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }

    /// Hashes consistently with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null:
            hasher.combine(0 as UInt8)
        case .bool(let b):
            hasher.combine(1 as UInt8)
            hasher.combine(b)
        case .int(let i):
            hasher.combine(2 as UInt8)
            hasher.combine(i)
        case .double(let d):
            if let i = JSONNumber.exactInt64(d) {
                hasher.combine(2 as UInt8)
                hasher.combine(i)
            } else {
                hasher.combine(3 as UInt8)
                hasher.combine(d)
            }
        case .string(let s):
            hasher.combine(4 as UInt8)
            JSONText.hash(s, into: &hasher)
        case .array(let a):
            hasher.combine(5 as UInt8)
            hasher.combine(a.count)
            for element in a { element.hash(into: &hasher) }
        case .object(let o):
            hasher.combine(6 as UInt8)
            o.hash(into: &hasher)
        }
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A Boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A double.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object; members keep the literal's order (a repeated key keeps its first position and last value).
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements { object.set(key, value) }
        self = .object(object)
    }
}

/// Interpolated string literals (`"a C \(type)"`) become `.string`.
extension JSONValue: ExpressibleByStringInterpolation {}

// MARK: - Text helpers

/// String comparison by Unicode code points (UTF-8 bytes), as JSON requires.
@usableFromInline
enum JSONText {
    @inlinable
    static func equal(_ a: String, _ b: String) -> Bool {
        let au = a.utf8
        let bu = b.utf8
        guard au.count == bu.count else { return false }
        if let r = au.withContiguousStorageIfAvailable({ ap in
            bu.withContiguousStorageIfAvailable { bp in
                ap.count == 0 || memcmpBytes(ap.baseAddress!, bp.baseAddress!, ap.count)
            }
        }), let result = r {
            return result
        }
        return au.elementsEqual(bu)
    }

    @inlinable
    static func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i < n {
            if a[i] != b[i] { return false }
            i &+= 1
        }
        return true
    }

    static func hash(_ s: String, into hasher: inout Hasher) {
        let u = s.utf8
        hasher.combine(u.count)
        if u.withContiguousStorageIfAvailable({ hasher.combine(bytes: UnsafeRawBufferPointer($0)) }) == nil {
            for b in u { hasher.combine(b) }
        }
    }

    /// Orders strings by their UTF-8 bytes, which is the same as ordering by Unicode code points.
    static func less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
