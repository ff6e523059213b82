/// A JSON Pointer (RFC 6901): a path to a value inside a JSON document, such as `/items/0/name`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The unescaped reference tokens, outermost first. Array indices are decimal strings.
    public var tokens: [String]

    /// The pointer to the whole document (`""`).
    public init() { tokens = [] }

    /// A pointer made of the given unescaped tokens.
    /// - Parameter tokens: the reference tokens, outermost first.
    public init(tokens: [String]) { self.tokens = tokens }

    /// A pointer made of the given unescaped tokens.
    public init(arrayLiteral elements: String...) { tokens = elements }

    /// Parses the string form (`""` or `/a/0/b~1c`), unescaping `~1` to `/` and `~0` to `~`.
    /// - Parameter string: the pointer text.
    /// - Returns: `nil` when the text is not empty and does not start with `/`, or has a `~` not followed by `0`/`1`.
    public init?(_ string: String) {
        guard !string.isEmpty else {
            tokens = []
            return
        }
        guard string.utf8.first == UInt8(ascii: "/") else { return nil }
        var result: [String] = []
        for raw in string.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard let token = Self.unescape(raw) else { return nil }
            result.append(token)
        }
        tokens = result
    }

    private static func unescape(_ raw: Substring.UTF8View.SubSequence) -> String? {
        guard raw.contains(UInt8(ascii: "~")) else { return String(decoding: raw, as: UTF8.self) }
        var bytes: [UInt8] = []
        var iterator = raw.makeIterator()
        while let b = iterator.next() {
            if b == UInt8(ascii: "~") {
                switch iterator.next() {
                case UInt8(ascii: "0"): bytes.append(UInt8(ascii: "~"))
                case UInt8(ascii: "1"): bytes.append(UInt8(ascii: "/"))
                default: return nil
                }
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether this points at the whole document.
    public var isRoot: Bool { tokens.isEmpty }

    /// Appends an object key.
    /// - Parameter key: the unescaped key.
    public mutating func append(_ key: String) { tokens.append(key) }

    /// Appends an array index.
    /// - Parameter index: the element index.
    public mutating func append(_ index: Int) { tokens.append(String(index)) }

    /// This pointer extended by an object key.
    /// - Parameter key: the unescaped key.
    /// - Returns: the longer pointer.
    public func appending(_ key: String) -> JSONPointer {
        var copy = self
        copy.append(key)
        return copy
    }

    /// This pointer extended by an array index.
    /// - Parameter index: the element index.
    /// - Returns: the longer pointer.
    public func appending(_ index: Int) -> JSONPointer {
        var copy = self
        copy.append(index)
        return copy
    }

    /// The string form, with `~` escaped as `~0` and `/` as `~1` (`""` for the root).
    public var description: String {
        var out = ""
        for token in tokens {
            out += "/"
            if token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) {
                out += token.replacing("~", with: "~0").replacing("/", with: "~1")
            } else {
                out += token
            }
        }
        return out
    }

    /// Looks the pointer up in a document. Array tokens must be decimal indices without leading zeros.
    /// - Parameter document: the value to search.
    /// - Returns: the value pointed at, or `nil` when some token does not exist.
    public func resolve(in document: JSONValue) -> JSONValue? {
        var current = document
        for token in tokens {
            switch current {
            case .object(let o):
                guard let next = o[token] else { return nil }
                current = next
            case .array(let a):
                guard let i = Self.arrayIndex(token), i < a.count else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }

    /// The array index a token denotes, or `nil` (no sign, no leading zeros, no `-`).
    static func arrayIndex(_ token: String) -> Int? {
        let u = token.utf8
        guard let first = u.first, u.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        if first == UInt8(ascii: "0") && u.count > 1 { return nil }
        return Int(token)
    }
}
