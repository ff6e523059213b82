/// The members of a JSON object, in insertion order.
///
/// Keys are unique and compared by Unicode code points. Small objects are searched linearly; objects with
/// more than ``indexThreshold`` members keep a hash index, so lookups stay cheap at any size.
public struct JSONObject: Sendable {
    /// One member of an object.
    public typealias Element = (key: String, value: JSONValue)

    /// Objects with more members than this keep a hash index for lookups.
    public static let indexThreshold = 12

    /// Storage uses a struct rather than the tuple `Element`: arrays of tuples go through slow generic runtime paths.
    @usableFromInline
    struct Member: Sendable {
        @usableFromInline var key: String
        @usableFromInline var value: JSONValue
        @inlinable init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var entries: [Member]
    @usableFromInline var index: [HashKey: Int]?

    /// An empty object.
    @inlinable public init() {
        entries = []
        index = nil
    }

    /// An object with the given members in order. When a key repeats, the later value replaces the earlier one
    /// (keeping the first position).
    /// - Parameter pairs: the members.
    public init(_ pairs: [(String, JSONValue)]) {
        self.init()
        entries.reserveCapacity(pairs.count)
        for (key, value) in pairs { set(key, value) }
    }

    /// The number of members.
    @inlinable public var count: Int { entries.count }

    /// Whether the object has no members.
    @inlinable public var isEmpty: Bool { entries.isEmpty }

    /// The keys in insertion order.
    public var keys: [String] { entries.map(\.key) }

    /// The values in insertion order.
    public var values: [JSONValue] { entries.map(\.value) }

    /// The position of `key` in the member list, or `nil`.
    /// - Parameter key: the member name.
    /// - Returns: the index into the insertion order.
    @inlinable public func position(of key: String) -> Int? {
        if let index { return index[HashKey(key)] }
        for i in entries.indices where JSONText.equal(entries[i].key, key) { return i }
        return nil
    }

    /// The value of the member named `key`, or `nil` when there is none.
    @inlinable public subscript(key: String) -> JSONValue? {
        guard let i = position(of: key) else { return nil }
        return entries[i].value
    }

    /// Whether the object has a member named `key`.
    @inlinable public func contains(_ key: String) -> Bool { position(of: key) != nil }

    /// Sets the member `key` to `value`: replaces the value in place when the key exists, appends otherwise.
    /// - Parameters:
    ///   - key: the member name.
    ///   - value: the new value.
    public mutating func set(_ key: String, _ value: JSONValue) {
        if let i = position(of: key) {
            entries[i].value = value
        } else {
            append(key, value)
        }
    }

    /// Removes the member named `key`.
    /// - Parameter key: the member name.
    /// - Returns: the removed value, or `nil` when there was no such member.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let i = position(of: key) else { return nil }
        let removed = entries.remove(at: i).value
        rebuildIndex()
        return removed
    }

    /// Appends a member that is known not to exist yet (the parser checks for duplicates first).
    @usableFromInline
    mutating func append(_ key: String, _ value: JSONValue) {
        entries.append(Member(key: key, value: value))
        if index != nil {
            index![HashKey(key)] = entries.count - 1
        } else if entries.count > Self.indexThreshold {
            rebuildIndex()
        }
    }

    mutating func rebuildIndex() {
        guard entries.count > Self.indexThreshold else {
            index = nil
            return
        }
        var newIndex = [HashKey: Int](minimumCapacity: entries.count)
        for (i, entry) in entries.enumerated() { newIndex[HashKey(entry.key)] = i }
        index = newIndex
    }

    /// A hash key that compares strings by code points rather than by canonical equivalence.
    @usableFromInline
    struct HashKey: Hashable, Sendable {
        @usableFromInline let string: String
        @inlinable init(_ string: String) { self.string = string }
        @inlinable static func == (a: HashKey, b: HashKey) -> Bool { JSONText.equal(a.string, b.string) }
        @usableFromInline func hash(into hasher: inout Hasher) { JSONText.hash(string, into: &hasher) }
    }
}

extension JSONObject: RandomAccessCollection {
    /// The first position.
    @inlinable public var startIndex: Int { 0 }
    /// One past the last position.
    @inlinable public var endIndex: Int { entries.count }
    /// The member at `position` in insertion order.
    @inlinable public subscript(position: Int) -> Element {
        let member = entries[position]
        return (member.key, member.value)
    }
}

extension JSONObject: Hashable {
    /// Objects are equal when they have the same keys with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (i, entry) in lhs.entries.enumerated() {
            // Fast path: same order.
            if JSONText.equal(rhs.entries[i].key, entry.key) {
                if rhs.entries[i].value != entry.value { return false }
                continue
            }
            guard let other = rhs[entry.key], other == entry.value else { return false }
        }
        return true
    }

    /// Hashes independently of member order, consistently with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        var sum = 0
        for entry in entries {
            var h = Hasher()
            JSONText.hash(entry.key, into: &h)
            entry.value.hash(into: &h)
            sum &+= h.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// An object with the literal's members in order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}
