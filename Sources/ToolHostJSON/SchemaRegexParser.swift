/// Why a pattern cannot become a ``SchemaRegex``.
struct SchemaRegexError: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// Not a valid ECMA-262 regular expression.
        case invalid
        /// Valid, but uses a feature that cannot be matched in linear time, or is too large.
        case unsupported
    }

    let kind: Kind
    /// Where the problem is, in Unicode scalars from the start of the pattern.
    let offset: Int
    /// What is wrong and what to do.
    let reason: String
}

/// A parsed pattern, before it becomes instructions.
indirect enum SchemaRegexNode: Sendable {
    case empty
    case scalar(UInt32)
    case set(SchemaCharacterSet)
    case assertion(SchemaRegex.Assertion)
    case concatenation([SchemaRegexNode])
    case alternation([SchemaRegexNode])
    /// `node{minimum,maximum}`; a `nil` maximum is unbounded. `offset` is where the quantifier is.
    case repetition(SchemaRegexNode, minimum: Int, maximum: Int?, offset: Int)
}

/// Parses the ECMA-262 pattern syntax JSON Schema uses (with the Annex B leniencies schemas rely on, such as a
/// literal `]` or `{`, and `-` next to a class escape inside `[…]`).
///
/// Back-references and lookaround are refused: no matcher can run them in time linear in the input.
struct SchemaRegexParser {
    /// Counts in `{n,m}` are read up to this value; anything larger is refused later by the size limit anyway.
    static let countCeiling = 1_000_000

    let scalars: [Unicode.Scalar]
    var index = 0

    init(_ pattern: String) {
        scalars = Array(pattern.unicodeScalars)
    }

    mutating func parse() throws(SchemaRegexError) -> SchemaRegexNode {
        let node = try parseDisjunction()
        if index < scalars.count {
            // Only an unmatched ')' stops a top-level disjunction early.
            throw invalid(at: index, "unmatched ')': remove it or escape it as '\\)'")
        }
        return node
    }

    // MARK: Errors

    func invalid(at offset: Int, _ reason: String) -> SchemaRegexError {
        SchemaRegexError(kind: .invalid, offset: offset, reason: reason)
    }

    func unsupported(at offset: Int, _ reason: String) -> SchemaRegexError {
        SchemaRegexError(kind: .unsupported, offset: offset, reason: reason)
    }

    var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    func scalar(at i: Int) -> Unicode.Scalar? { i < scalars.count ? scalars[i] : nil }

    // MARK: Structure

    mutating func parseDisjunction() throws(SchemaRegexError) -> SchemaRegexNode {
        var branches = [try parseAlternative()]
        while peek == "|" {
            index += 1
            branches.append(try parseAlternative())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func parseAlternative() throws(SchemaRegexError) -> SchemaRegexNode {
        var items: [SchemaRegexNode] = []
        while let c = peek, c != "|", c != ")" {
            items.append(try parseTerm())
        }
        switch items.count {
        case 0: return .empty
        case 1: return items[0]
        default: return .concatenation(items)
        }
    }

    mutating func parseTerm() throws(SchemaRegexError) -> SchemaRegexNode {
        let start = index
        let c = scalars[index]
        if c == "*" || c == "+" || c == "?" || (c == "{" && counted(at: index) != nil) {
            throw invalid(at: start, "nothing to repeat before '\(c)': escape it as '\\\(c)' to match it literally")
        }
        let atom: SchemaRegexNode
        var quantifiable = true
        switch c {
        case "^":
            index += 1
            atom = .assertion(.start)
            quantifiable = false
        case "$":
            index += 1
            atom = .assertion(.end)
            quantifiable = false
        case "\\" where scalar(at: index + 1) == "b":
            index += 2
            atom = .assertion(.wordBoundary)
            quantifiable = false
        case "\\" where scalar(at: index + 1) == "B":
            index += 2
            atom = .assertion(.notWordBoundary)
            quantifiable = false
        case "\\":
            atom = try parseAtomEscape()
        case "(":
            atom = try parseGroup()
        case ".":
            index += 1
            atom = .set(.dot)
        case "[":
            atom = .set(try parseClass())
        default:
            index += 1
            atom = .scalar(c.value)
        }
        let quantifierStart = index
        guard let (minimum, maximum) = try parseQuantifier() else { return atom }
        if !quantifiable {
            throw invalid(
                at: quantifierStart,
                "nothing to repeat: a quantifier cannot follow the assertion '\(text(start..<quantifierStart))'")
        }
        return .repetition(atom, minimum: minimum, maximum: maximum, offset: quantifierStart)
    }

    func text(_ range: Range<Int>) -> String {
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars[range])
        return s
    }

    /// `*`, `+`, `?` or `{n}`, `{n,}`, `{n,m}`, each optionally followed by the lazy `?` (which does not change
    /// whether a pattern matches, only which match a backtracking engine would find first).
    mutating func parseQuantifier() throws(SchemaRegexError) -> (Int, Int?)? {
        guard let c = peek else { return nil }
        let result: (Int, Int?)
        switch c {
        case "*": result = (0, nil); index += 1
        case "+": result = (1, nil); index += 1
        case "?": result = (0, 1); index += 1
        case "{":
            guard let (minimum, maximum, end) = counted(at: index) else { return nil }
            if let maximum, maximum < minimum {
                throw invalid(at: index, "numbers out of order in the quantifier '\(text(index..<end))'")
            }
            result = (minimum, maximum)
            index = end
        default:
            return nil
        }
        if peek == "?" { index += 1 }
        return result
    }

    /// Reads `{n}`, `{n,}` or `{n,m}` at `start` without consuming it: the counts and the index after `}`, or
    /// `nil` when the brace does not start a quantifier (it is then a literal `{`, as Annex B allows).
    func counted(at start: Int) -> (Int, Int?, Int)? {
        var i = start + 1
        func number() -> Int? {
            var value: Int?
            while let c = scalar(at: i), ("0"..."9").contains(c) {
                value = Swift.min((value ?? 0) * 10 + Int(c.value - 0x30), Self.countCeiling)
                i += 1
            }
            return value
        }
        guard let minimum = number() else { return nil }
        var maximum: Int? = minimum
        if scalar(at: i) == "," {
            i += 1
            maximum = number()
        }
        guard scalar(at: i) == "}" else { return nil }
        return (minimum, maximum, i + 1)
    }

    mutating func parseGroup() throws(SchemaRegexError) -> SchemaRegexNode {
        let open = index
        index += 1
        if peek == "?", let kind = scalar(at: index + 1) {
            switch kind {
            case ":":
                index += 2
            case "=", "!":
                throw unsupported(
                    at: open,
                    "lookahead '\(text(open..<index + 2))' is not supported: toolhost matches patterns in linear "
                        + "time and lookaround cannot be matched that way; rewrite the pattern without it")
            case "<" where scalar(at: index + 2) == "=" || scalar(at: index + 2) == "!":
                throw unsupported(
                    at: open,
                    "lookbehind '\(text(open..<index + 3))' is not supported: toolhost matches patterns in linear "
                        + "time and lookaround cannot be matched that way; rewrite the pattern without it")
            case "<":
                // A named group; captures are not needed to decide a match, so the name is only checked.
                var i = index + 2
                while let c = scalar(at: i), c != ">" {
                    guard
                        c == "_" || c == "$" || c.properties.isAlphabetic
                            || (i > index + 2 && c.properties.numericType != nil)
                    else {
                        throw invalid(
                            at: i, "invalid character '\(c)' in the name of the group opened at offset \(open)")
                    }
                    i += 1
                }
                guard scalar(at: i) == ">", i > index + 2 else {
                    throw invalid(at: open, "a named group needs a name and a closing '>': '(?<name>…)'")
                }
                index = i + 1
            default:
                throw invalid(
                    at: open,
                    "unsupported group syntax '\(text(open..<Swift.min(index + 2, scalars.count)))': JSON Schema "
                        + "patterns are ECMA-262, which has '(…)', '(?:…)' and '(?<name>…)'")
            }
        }
        let inner = try parseDisjunction()
        guard peek == ")" else {
            throw invalid(at: open, "missing ')' for the group opened at offset \(open)")
        }
        index += 1
        return inner
    }

    // MARK: Escapes

    /// An escape outside a class (`\b` and `\B` are handled as assertions before this).
    mutating func parseAtomEscape() throws(SchemaRegexError) -> SchemaRegexNode {
        let start = index
        guard let c = scalar(at: index + 1) else {
            throw invalid(at: start, "the pattern ends with a lone '\\': escape it as '\\\\'")
        }
        switch c {
        case "1"..."9":
            var end = index + 1
            while let d = scalar(at: end), ("0"..."9").contains(d) { end += 1 }
            throw unsupported(
                at: start,
                "back-references are not supported: they make matching exponential; toolhost matches patterns in "
                    + "linear time, so rewrite the pattern without '\(text(start..<end))'")
        case "k":
            throw unsupported(
                at: start,
                "back-references are not supported: they make matching exponential; toolhost matches patterns in "
                    + "linear time, so rewrite the pattern without '\\k<…>'")
        default:
            if let set = try parseClassEscape() { return .set(set) }
            return .scalar(try parseCharacterEscape())
        }
    }

    /// `\d \D \w \W \s \S \p{…} \P{…}` at `index` (the backslash), consumed; `nil` (nothing consumed) otherwise.
    mutating func parseClassEscape() throws(SchemaRegexError) -> SchemaCharacterSet? {
        guard let c = scalar(at: index + 1) else { return nil }
        let ranges: [ClosedRange<UInt32>]
        var complemented = false
        switch c {
        case "d": ranges = SchemaCharacterSet.digits
        case "D": ranges = SchemaCharacterSet.digits; complemented = true
        case "w": ranges = SchemaCharacterSet.wordCharacters
        case "W": ranges = SchemaCharacterSet.wordCharacters; complemented = true
        case "s": ranges = SchemaCharacterSet.whiteSpace
        case "S": ranges = SchemaCharacterSet.whiteSpace; complemented = true
        case "p", "P": return try parseProperty(negated: c == "P")
        default: return nil
        }
        index += 2
        return SchemaCharacterSet(complemented ? SchemaCharacterSet.complement(ranges) : ranges)
    }

    mutating func parseProperty(negated: Bool) throws(SchemaRegexError) -> SchemaCharacterSet {
        let start = index
        guard scalar(at: index + 2) == "{" else {
            throw invalid(at: start, "'\\p' and '\\P' need a property in braces, e.g. '\\p{L}'")
        }
        var i = index + 3
        while let c = scalar(at: i), c != "}" { i += 1 }
        guard scalar(at: i) == "}" else { throw invalid(at: start, "missing '}' after '\\p{'") }
        let body = text(index + 3..<i)
        guard let property = SchemaUnicodeProperty.named(body) else {
            throw unsupported(
                at: start,
                "the Unicode property '\(body)' is not supported: toolhost knows General_Category values "
                    + "(L, Lu, Nd, P, …) and Any, ASCII, Assigned, Alphabetic, Lowercase, Uppercase, White_Space")
        }
        index = i + 1
        var set = SchemaCharacterSet()
        set.insert(SchemaUnicodeProperty.Test(property: property, negated: negated))
        return set
    }

    /// A character escape at `index` (the backslash), consumed: its scalar value.
    mutating func parseCharacterEscape() throws(SchemaRegexError) -> UInt32 {
        let start = index
        guard let c = scalar(at: index + 1) else {
            throw invalid(at: start, "the pattern ends with a lone '\\': escape it as '\\\\'")
        }
        index += 2
        switch c {
        case "t": return 0x09
        case "n": return 0x0A
        case "v": return 0x0B
        case "f": return 0x0C
        case "r": return 0x0D
        case "0":
            if let d = peek, ("0"..."9").contains(d) {
                throw unsupported(at: start, "octal escapes are not supported: write '\\x' or '\\u' escapes instead")
            }
            return 0
        case "c":
            guard let letter = peek, ("a"..."z").contains(letter) || ("A"..."Z").contains(letter) else {
                throw invalid(at: start, "'\\c' must be followed by a letter, e.g. '\\cJ'")
            }
            index += 1
            return letter.value % 32
        case "x":
            guard let value = hex(count: 2) else {
                throw invalid(at: start, "'\\x' must be followed by two hexadecimal digits, e.g. '\\x41'")
            }
            return value
        case "u":
            return try parseUnicodeEscape(start: start)
        default:
            if c.isASCII && (c.properties.isAlphabetic || c.properties.numericType != nil) {
                throw invalid(
                    at: start,
                    "unknown escape '\\\(c)': ECMA-262 has no such escape; write '\(c)' to match the character itself")
            }
            return c.value  // an escaped syntax character such as '\.' or '\/'
        }
    }

    /// `\uXXXX` (a surrogate pair of two such escapes is one scalar) or `\u{X…}`; `index` is after the `u`.
    mutating func parseUnicodeEscape(start: Int) throws(SchemaRegexError) -> UInt32 {
        if peek == "{" {
            var i = index + 1
            var value: UInt32 = 0
            while let c = scalar(at: i), let digit = hexValue(c) {
                value = value * 16 + digit
                guard value <= SchemaCharacterSet.maximumScalar else {
                    throw invalid(at: start, "'\\u{…}' is above U+10FFFF")
                }
                i += 1
            }
            guard i > index + 1, scalar(at: i) == "}" else {
                throw invalid(at: start, "'\\u{' must be followed by hexadecimal digits and '}', e.g. '\\u{1F600}'")
            }
            index = i + 1
            return value
        }
        guard let value = hex(count: 4) else {
            throw invalid(at: start, "'\\u' must be followed by four hexadecimal digits or '{…}', e.g. '\\u00e9'")
        }
        if (0xD800...0xDBFF).contains(value), peek == "\\", scalar(at: index + 1) == "u" {
            let saved = index
            index += 2
            if let low = hex(count: 4), (0xDC00...0xDFFF).contains(low) {
                return 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            }
            index = saved
        }
        // A lone surrogate can never match: a Swift string holds only Unicode scalars.
        return value
    }

    func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 0x30
        case "a"..."f": return c.value - 0x61 + 10
        case "A"..."F": return c.value - 0x41 + 10
        default: return nil
        }
    }

    /// Exactly `count` hexadecimal digits at `index`, consumed; `nil` (nothing consumed) otherwise.
    mutating func hex(count: Int) -> UInt32? {
        var value: UInt32 = 0
        for i in index..<index + count {
            guard let c = scalar(at: i), let digit = hexValue(c) else { return nil }
            value = value * 16 + digit
        }
        index += count
        return value
    }

    // MARK: Classes

    mutating func parseClass() throws(SchemaRegexError) -> SchemaCharacterSet {
        let open = index
        index += 1
        var set = SchemaCharacterSet()
        if peek == "^" {
            set.negated = true
            index += 1
        }
        while true {
            guard let c = peek else {
                throw invalid(at: open, "missing ']' for the class opened at offset \(open)")
            }
            if c == "]" {
                index += 1
                return set
            }
            if c == "[", scalar(at: index + 1) == ":" || scalar(at: index + 1) == "=" {
                // ECMA-262 reads '[[:alpha:]]' as a class of '[', ':', 'a', … and a literal ']': never what was meant.
                throw invalid(
                    at: index,
                    "POSIX classes such as '[:alpha:]' are not ECMA-262: write '[A-Za-z]' or '\\p{L}' instead")
            }
            let first = try parseClassAtom()
            // A range needs a single character on both sides; with a class escape on either side, the '-' is
            // literal (Annex B), as in '[\w-.]'.
            guard case .scalar(let lower) = first, peek == "-", let after = scalar(at: index + 1), after != "]" else {
                add(first, to: &set)
                continue
            }
            let dash = index
            index += 1
            let second = try parseClassAtom()
            guard case .scalar(let upper) = second else {
                set.insert(lower)
                set.insert(0x2D)
                add(second, to: &set)
                continue
            }
            guard lower <= upper else {
                throw invalid(at: dash, "range out of order in the class: '\(text(dash - 1..<index))'")
            }
            set.insert(lower...upper)
        }
    }

    enum ClassAtom {
        case scalar(UInt32)
        case set(SchemaCharacterSet)
    }

    func add(_ atom: ClassAtom, to set: inout SchemaCharacterSet) {
        switch atom {
        case .scalar(let v): set.insert(v)
        case .set(let other): set.formUnion(other)
        }
    }

    mutating func parseClassAtom() throws(SchemaRegexError) -> ClassAtom {
        let c = scalars[index]
        guard c == "\\" else {
            index += 1
            return .scalar(c.value)
        }
        let start = index
        guard let next = scalar(at: index + 1) else {
            throw invalid(at: start, "the pattern ends with a lone '\\': escape it as '\\\\'")
        }
        switch next {
        case "b":
            index += 2
            return .scalar(0x08)  // backspace inside a class
        case "-":
            index += 2
            return .scalar(0x2D)
        case "B":
            throw invalid(at: start, "'\\B' is not allowed inside a class")
        case "1"..."9":
            throw unsupported(
                at: start, "octal escapes are not supported inside a class: write '\\x' or '\\u' escapes instead")
        case "k":
            throw invalid(at: start, "'\\k' is not allowed inside a class")
        default:
            if let set = try parseClassEscape() { return .set(set) }
            return .scalar(try parseCharacterEscape())
        }
    }
}
