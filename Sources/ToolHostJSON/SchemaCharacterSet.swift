/// A set of Unicode scalars one step of a ``SchemaRegex`` may consume: `.`, `\d`, `[a-z_]`, `\p{Lu}`, ….
///
/// Ranges are kept sorted and merged so that membership is a binary search; Unicode properties are tested
/// through the standard library's scalar properties, so no table of the whole code space is built.
struct SchemaCharacterSet: Sendable {
    /// Scalar values in the set, sorted by lower bound, neither overlapping nor adjacent.
    private(set) var ranges: [ClosedRange<UInt32>] = []
    /// Properties whose scalars are also in the set.
    private(set) var properties: [SchemaUnicodeProperty.Test] = []
    /// Whether the set is the complement of `ranges` and `properties` (`[^…]`).
    var negated = false

    init() {}

    init(_ ranges: [ClosedRange<UInt32>], negated: Bool = false) {
        for range in ranges { insert(range) }
        self.negated = negated
    }

    static let maximumScalar: UInt32 = 0x10FFFF

    /// `\d`: ASCII digits only, as in ECMA-262.
    static let digits: [ClosedRange<UInt32>] = [0x30...0x39]
    /// `\w`: ASCII letters, digits and `_`, as in ECMA-262.
    static let wordCharacters: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
    /// `\s`: ECMA-262 WhiteSpace and LineTerminator.
    static let whiteSpace: [ClosedRange<UInt32>] = [
        0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029,
        0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
    ]
    /// ECMA-262 LineTerminator, which `.` does not match.
    static let lineTerminators: [ClosedRange<UInt32>] = [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029]

    /// `.`: anything but a line terminator.
    static var dot: SchemaCharacterSet { SchemaCharacterSet(lineTerminators, negated: true) }

    /// Whether `scalar` is an ECMA-262 word character (`\w`, and the sides of `\b`).
    static func isWordCharacter(_ scalar: Unicode.Scalar?) -> Bool {
        guard let v = scalar?.value else { return false }
        return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || v == 0x5F || (0x61...0x7A).contains(v)
    }

    /// The scalar values not in `ranges` (which must be sorted and merged).
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            if range.upperBound >= maximumScalar { return result }
            next = range.upperBound + 1
        }
        result.append(next...maximumScalar)
        return result
    }

    mutating func insert(_ scalar: UInt32) {
        insert(scalar...scalar)
    }

    /// Adds a range, keeping `ranges` sorted and merged.
    mutating func insert(_ range: ClosedRange<UInt32>) {
        var lower = range.lowerBound
        var upper = range.upperBound
        var merged: [ClosedRange<UInt32>] = []
        merged.reserveCapacity(ranges.count + 1)
        var placed = false
        for existing in ranges {
            if existing.upperBound &+ 1 < lower {
                merged.append(existing)
            } else if upper &+ 1 < existing.lowerBound {
                if !placed {
                    merged.append(lower...upper)
                    placed = true
                }
                merged.append(existing)
            } else {
                lower = Swift.min(lower, existing.lowerBound)
                upper = Swift.max(upper, existing.upperBound)
            }
        }
        if !placed { merged.append(lower...upper) }
        ranges = merged
    }

    mutating func insert(_ test: SchemaUnicodeProperty.Test) {
        properties.append(test)
    }

    /// Adds every member of a set that is not itself negated (a class escape inside `[…]`).
    mutating func formUnion(_ other: SchemaCharacterSet) {
        precondition(!other.negated, "class escapes inside a class are built without negation")
        for range in other.ranges { insert(range) }
        properties.append(contentsOf: other.properties)
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        var low = 0
        var high = ranges.count
        var found = false
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < v {
                low = mid + 1
            } else if ranges[mid].lowerBound > v {
                high = mid
            } else {
                found = true
                break
            }
        }
        if !found {
            for test in properties where test.matches(scalar) {
                found = true
                break
            }
        }
        return found != negated
    }
}

/// A Unicode property usable in `\p{…}` and `\P{…}`: General_Category values and a few binary properties.
enum SchemaUnicodeProperty: Sendable, Hashable {
    case generalCategories(Set<Unicode.GeneralCategory>)
    case any
    case ascii
    case assigned
    case alphabetic
    case lowercase
    case uppercase
    case whiteSpace

    /// A property, possibly negated (`\P{…}`).
    struct Test: Sendable {
        let property: SchemaUnicodeProperty
        let negated: Bool

        func matches(_ scalar: Unicode.Scalar) -> Bool {
            property.contains(scalar) != negated
        }
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        switch self {
        case .generalCategories(let categories): return categories.contains(scalar.properties.generalCategory)
        case .any: return true
        case .ascii: return scalar.isASCII
        case .assigned: return scalar.properties.generalCategory != .unassigned
        case .alphabetic: return scalar.properties.isAlphabetic
        case .lowercase: return scalar.properties.isLowercase
        case .uppercase: return scalar.properties.isUppercase
        case .whiteSpace: return scalar.properties.isWhitespace
        }
    }

    /// The property a `\p{…}` body names, or `nil` when toolhost does not know it.
    static func named(_ body: String) -> SchemaUnicodeProperty? {
        var name = body
        if let equals = body.firstIndex(of: "=") {
            let key = body[..<equals]
            guard key == "General_Category" || key == "gc" else { return nil }
            name = String(body[body.index(after: equals)...])
            return generalCategory(name).map { .generalCategories($0) }
        }
        if let categories = generalCategory(name) { return .generalCategories(categories) }
        switch name {
        case "Any": return .any
        case "ASCII": return .ascii
        case "Assigned": return .assigned
        case "Alphabetic", "Alpha": return .alphabetic
        case "Lowercase", "Lower": return .lowercase
        case "Uppercase", "Upper": return .uppercase
        case "White_Space", "space": return .whiteSpace
        default: return nil
        }
    }

    private static func generalCategory(_ name: String) -> Set<Unicode.GeneralCategory>? {
        switch name {
        case "L", "Letter":
            return [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter]
        case "LC", "Cased_Letter": return [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter]
        case "Lu", "Uppercase_Letter": return [.uppercaseLetter]
        case "Ll", "Lowercase_Letter": return [.lowercaseLetter]
        case "Lt", "Titlecase_Letter": return [.titlecaseLetter]
        case "Lm", "Modifier_Letter": return [.modifierLetter]
        case "Lo", "Other_Letter": return [.otherLetter]
        case "M", "Mark", "Combining_Mark": return [.nonspacingMark, .spacingMark, .enclosingMark]
        case "Mn", "Nonspacing_Mark": return [.nonspacingMark]
        case "Mc", "Spacing_Mark": return [.spacingMark]
        case "Me", "Enclosing_Mark": return [.enclosingMark]
        case "N", "Number": return [.decimalNumber, .letterNumber, .otherNumber]
        case "Nd", "Decimal_Number", "digit": return [.decimalNumber]
        case "Nl", "Letter_Number": return [.letterNumber]
        case "No", "Other_Number": return [.otherNumber]
        case "P", "Punctuation", "punct":
            return [
                .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                .finalPunctuation, .otherPunctuation,
            ]
        case "Pc", "Connector_Punctuation": return [.connectorPunctuation]
        case "Pd", "Dash_Punctuation": return [.dashPunctuation]
        case "Ps", "Open_Punctuation": return [.openPunctuation]
        case "Pe", "Close_Punctuation": return [.closePunctuation]
        case "Pi", "Initial_Punctuation": return [.initialPunctuation]
        case "Pf", "Final_Punctuation": return [.finalPunctuation]
        case "Po", "Other_Punctuation": return [.otherPunctuation]
        case "S", "Symbol": return [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol]
        case "Sm", "Math_Symbol": return [.mathSymbol]
        case "Sc", "Currency_Symbol": return [.currencySymbol]
        case "Sk", "Modifier_Symbol": return [.modifierSymbol]
        case "So", "Other_Symbol": return [.otherSymbol]
        case "Z", "Separator": return [.spaceSeparator, .lineSeparator, .paragraphSeparator]
        case "Zs", "Space_Separator": return [.spaceSeparator]
        case "Zl", "Line_Separator": return [.lineSeparator]
        case "Zp", "Paragraph_Separator": return [.paragraphSeparator]
        case "C", "Other": return [.control, .format, .surrogate, .privateUse, .unassigned]
        case "Cc", "Control", "cntrl": return [.control]
        case "Cf", "Format": return [.format]
        case "Cs", "Surrogate": return [.surrogate]
        case "Co", "Private_Use": return [.privateUse]
        case "Cn", "Unassigned": return [.unassigned]
        default: return nil
        }
    }
}
