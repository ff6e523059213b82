// A strict RFC 8259 parser over UTF-8 bytes. One implementation serves both tree building (`parseDocument`)
// and validation without building (`validateDocument`).

private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

struct JSONParser {
    let bytes: UnsafePointer<UInt8>
    let count: Int
    let maxDepth: Int
    var pos = 0
    var depth = 0
    /// Elements of the arrays being built, innermost last; each array copies its slice out once.
    var elementStack: [JSONValue] = []
    /// Members of the objects being built, innermost last.
    var memberStack: [JSONObject.Member] = []
    /// Keys of the objects being validated (validation mode only).
    var keyStack: [String] = []
    /// Scratch for strings with escapes.
    var scratch: [UInt8] = []

    init(_ buffer: UnsafeRawBufferPointer, options: JSONParseOptions) {
        // An empty buffer may have no base address; point at a dummy byte that is never read.
        if let base = buffer.baseAddress {
            bytes = base.assumingMemoryBound(to: UInt8.self)
        } else {
            bytes = UnsafePointer(bitPattern: 1)!
        }
        count = buffer.count
        maxDepth = options.maxDepth
    }

    // MARK: Documents

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        try finish()
        return value
    }

    mutating func validateDocument() throws(JSONParseError) {
        skipWhitespace()
        try skipValue()
        try finish()
    }

    /// The value starting at `offset` of a larger text (``JSONShaper`` reads scalars where it writes them).
    mutating func value(at offset: Int) throws(JSONParseError) -> JSONValue {
        pos = offset
        depth = 0
        return try parseValue()
    }

    private mutating func finish() throws(JSONParseError) {
        skipWhitespace()
        if pos < count {
            throw error(.trailingData, "expected the end of input after the JSON value", at: pos)
        }
    }

    // MARK: Errors

    func error(_ code: JSONParseError.Code, _ what: String, at offset: Int) -> JSONParseError {
        var line = 1
        var column = 1
        var i = 0
        let end = min(offset, count)
        while i < end {
            let b = bytes[i]
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        var message = "\(what) at line \(line), column \(column)"
        if offset < count, code == .unexpectedCharacter || code == .trailingData || code == .invalidNumber {
            message += " (found \(describe(bytes[offset])))"
        } else if offset >= count, code != .duplicateKey {
            message += " (found end of input)"
        }
        return JSONParseError(code: code, offset: offset, line: line, column: column, message: message)
    }

    private func describe(_ b: UInt8) -> String {
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        let hex = String(b, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }

    private func unexpected(_ expected: String) -> JSONParseError {
        if pos >= count { return error(.unexpectedEndOfInput, expected, at: pos) }
        let b = bytes[pos]
        if b == UInt8(ascii: "N") || b == UInt8(ascii: "I") {
            return error(.unexpectedCharacter, expected + " (NaN and Infinity are not JSON)", at: pos)
        }
        return error(.unexpectedCharacter, expected, at: pos)
    }

    // MARK: Lexical helpers

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < count {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos &+= 1
            default: return
            }
        }
    }

    @inline(__always)
    private func peek() -> UInt8? {
        pos < count ? bytes[pos] : nil
    }

    private mutating func literal(_ text: StaticString) throws(JSONParseError) {
        let n = text.utf8CodeUnitCount
        let p = text.utf8Start
        for i in 0..<n {
            guard pos + i < count else { throw error(.unexpectedEndOfInput, "expected '\(text)'", at: count) }
            if bytes[pos + i] != p[i] { throw error(.unexpectedCharacter, "expected '\(text)'", at: pos + i) }
        }
        pos += n
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth {
            throw error(.nestingTooDeep, "arrays and objects nested deeper than \(maxDepth) levels", at: pos)
        }
    }

    // MARK: Building

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard pos < count else { throw unexpected("expected a JSON value") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case quote: return .string(try scanString(build: true))
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try scanNumber(build: true)
        default:
            throw unexpected("expected a JSON value")
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        pos += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array([])
        }
        let base = elementStack.count
        while true {
            skipWhitespace()
            elementStack.append(try parseValue())
            skipWhitespace()
            guard pos < count else { throw unexpected("expected ',' or ']' after array element") }
            let b = bytes[pos]
            pos += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "]") { break }
            pos -= 1
            throw unexpected("expected ',' or ']' after array element")
        }
        let array = Array(elementStack[base...])
        elementStack.removeSubrange(base...)
        depth -= 1
        return .array(array)
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        pos += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(JSONObject())
        }
        let base = memberStack.count
        var index: [JSONObject.HashKey: Int]? = nil
        while true {
            skipWhitespace()
            guard peek() == quote else {
                throw unexpected(
                    memberStack.count == base
                        ? "expected '\"' to begin an object key or '}'"
                        : "expected '\"' to begin an object key after ','"
                )
            }
            let keyOffset = pos
            let key = try scanString(build: true)
            // Reject duplicates: linear for small objects, hashed once they grow.
            let n = memberStack.count - base
            if n >= JSONObject.indexThreshold {
                if index == nil {
                    var newIndex = [JSONObject.HashKey: Int](minimumCapacity: n * 2)
                    for i in 0..<n { newIndex[JSONObject.HashKey(memberStack[base + i].key)] = i }
                    index = newIndex
                }
                if index!.updateValue(n, forKey: JSONObject.HashKey(key)) != nil {
                    throw duplicate(key, at: keyOffset)
                }
            } else {
                for i in base..<memberStack.count where JSONText.equal(memberStack[i].key, key) {
                    throw duplicate(key, at: keyOffset)
                }
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw unexpected("expected ':' after object key") }
            pos += 1
            skipWhitespace()
            let value = try parseValue()
            memberStack.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard pos < count else { throw unexpected("expected ',' or '}' after object member") }
            let b = bytes[pos]
            pos += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "}") { break }
            pos -= 1
            throw unexpected("expected ',' or '}' after object member")
        }
        var object = JSONObject()
        object.entries = Array(memberStack[base...])
        if object.entries.count > JSONObject.indexThreshold { object.rebuildIndex() }
        memberStack.removeSubrange(base...)
        depth -= 1
        return .object(object)
    }

    private func duplicate(_ key: String, at offset: Int) -> JSONParseError {
        var shown = key
        if shown.unicodeScalars.count > 64 { shown = String(shown.unicodeScalars.prefix(64)) + "…" }
        return error(.duplicateKey, "duplicate object key \"\(shown)\"", at: offset)
    }

    // MARK: Validation without building

    private mutating func skipValue() throws(JSONParseError) {
        guard pos < count else { throw unexpected("expected a JSON value") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): try skipObject()
        case UInt8(ascii: "["): try skipArray()
        case quote: _ = try scanString(build: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber(build: false)
        default: throw unexpected("expected a JSON value")
        }
    }

    private mutating func skipArray() throws(JSONParseError) {
        try enter()
        pos += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            guard pos < count else { throw unexpected("expected ',' or ']' after array element") }
            let b = bytes[pos]
            pos += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "]") { break }
            pos -= 1
            throw unexpected("expected ',' or ']' after array element")
        }
        depth -= 1
    }

    private mutating func skipObject() throws(JSONParseError) {
        try enter()
        pos += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return
        }
        let base = keyStack.count
        var seen: Set<JSONObject.HashKey>? = nil
        var members = 0
        // The first key stays out of `keyStack` until a second one comes: an object of one member (most tool
        // results) is checked without touching the stack, so without allocating it.
        var firstKey = ""
        while true {
            skipWhitespace()
            guard peek() == quote else {
                throw unexpected(
                    members == 0
                        ? "expected '\"' to begin an object key or '}'"
                        : "expected '\"' to begin an object key after ','"
                )
            }
            let keyOffset = pos
            let key = try scanString(build: true)
            if members == 0 {
                firstKey = key
            } else {
                if members == 1 { keyStack.append(firstKey) }
                let n = keyStack.count - base
                if n >= JSONObject.indexThreshold {
                    if seen == nil { seen = Set(keyStack[base...].map(JSONObject.HashKey.init)) }
                    if !seen!.insert(JSONObject.HashKey(key)).inserted { throw duplicate(key, at: keyOffset) }
                } else {
                    for i in base..<keyStack.count where JSONText.equal(keyStack[i], key) {
                        throw duplicate(key, at: keyOffset)
                    }
                }
                keyStack.append(key)
            }
            members += 1
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw unexpected("expected ':' after object key") }
            pos += 1
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            guard pos < count else { throw unexpected("expected ',' or '}' after object member") }
            let b = bytes[pos]
            pos += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "}") { break }
            pos -= 1
            throw unexpected("expected ',' or '}' after object member")
        }
        if keyStack.count > base { keyStack.removeSubrange(base...) }
        depth -= 1
    }

    // MARK: Strings

    /// Scans a string starting at the opening quote. Returns the decoded string when `build` is set, "" otherwise.
    @inline(__always)
    private mutating func scanString(build: Bool) throws(JSONParseError) -> String {
        pos += 1
        let start = pos
        while pos < count {
            let b = bytes[pos]
            if b == quote {
                let s =
                    build
                    ? String(decoding: UnsafeBufferPointer(start: bytes + start, count: pos - start), as: UTF8.self)
                    : ""
                pos += 1
                return s
            }
            if b == backslash { return try scanEscapedString(from: start, build: build) }
            if b < 0x20 { throw controlCharacter() }
            if b < 0x80 {
                pos &+= 1
            } else {
                try skipUTF8Sequence()
            }
        }
        throw error(.unexpectedEndOfInput, "expected '\"' to end the string", at: pos)
    }

    private func controlCharacter() -> JSONParseError {
        let hex = String(bytes[pos], radix: 16, uppercase: true)
        return error(
            .controlCharacterInString,
            "control character U+\(String(repeating: "0", count: 4 - hex.count) + hex) must be escaped in a string",
            at: pos)
    }

    private mutating func scanEscapedString(from start: Int, build: Bool) throws(JSONParseError) -> String {
        if build {
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: UnsafeBufferPointer(start: bytes + start, count: pos - start))
        }
        while pos < count {
            let b = bytes[pos]
            if b == quote {
                pos += 1
                return build ? String(decoding: scratch, as: UTF8.self) : ""
            }
            if b == backslash {
                let escapeStart = pos
                pos += 1
                guard pos < count else { break }
                let e = bytes[pos]
                pos += 1
                var decoded: UInt8
                switch e {
                case quote: decoded = quote
                case backslash: decoded = backslash
                case UInt8(ascii: "/"): decoded = UInt8(ascii: "/")
                case UInt8(ascii: "b"): decoded = 0x08
                case UInt8(ascii: "f"): decoded = 0x0C
                case UInt8(ascii: "n"): decoded = 0x0A
                case UInt8(ascii: "r"): decoded = 0x0D
                case UInt8(ascii: "t"): decoded = 0x09
                case UInt8(ascii: "u"):
                    let scalar = try unicodeEscape(escapeStart: escapeStart)
                    if build { appendUTF8(scalar) }
                    continue
                default:
                    pos -= 1
                    throw error(.invalidEscape, "expected one of \" \\ / b f n r t u after '\\' in a string", at: pos)
                }
                if build { scratch.append(decoded) }
                continue
            }
            if b < 0x20 { throw controlCharacter() }
            if b < 0x80 {
                if build { scratch.append(b) }
                pos &+= 1
            } else {
                let s = pos
                try skipUTF8Sequence()
                if build { scratch.append(contentsOf: UnsafeBufferPointer(start: bytes + s, count: pos - s)) }
            }
        }
        throw error(.unexpectedEndOfInput, "expected '\"' to end the string", at: pos)
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard count - pos >= 4 else {
            throw error(.invalidEscape, "expected four hexadecimal digits after '\\u'", at: pos)
        }
        var v: UInt32 = 0
        for i in 0..<4 {
            let c = bytes[pos + i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw error(.invalidEscape, "expected four hexadecimal digits after '\\u'", at: pos + i)
            }
            v = v << 4 | UInt32(d)
        }
        pos += 4
        return v
    }

    private mutating func unicodeEscape(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        let first = try hex4()
        if first >= 0xDC00 && first <= 0xDFFF {
            throw error(.loneSurrogate, "unpaired low surrogate '\\u\(hexString(first))' in a string", at: escapeStart)
        }
        guard first >= 0xD800 && first <= 0xDBFF else { return first }
        guard count - pos >= 2, bytes[pos] == backslash, bytes[pos + 1] == UInt8(ascii: "u") else {
            throw error(
                .loneSurrogate, "high surrogate '\\u\(hexString(first))' must be followed by a low surrogate escape",
                at: escapeStart)
        }
        pos += 2
        let second = try hex4()
        guard second >= 0xDC00 && second <= 0xDFFF else {
            throw error(
                .loneSurrogate, "high surrogate '\\u\(hexString(first))' must be followed by a low surrogate escape",
                at: escapeStart)
        }
        return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
    }

    private func hexString(_ v: UInt32) -> String {
        let h = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `pos` (Unicode Table 3-7) and advances past it.
    private mutating func skipUTF8Sequence() throws(JSONParseError) {
        let lead = bytes[pos]
        var length: Int
        var secondLow: UInt8 = 0x80
        var secondHigh: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondLow = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondHigh = 0x9F
        case 0xF0:
            length = 4
            secondLow = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondHigh = 0x8F
        default:
            throw error(.invalidUTF8, "invalid UTF-8 lead byte 0x\(String(lead, radix: 16, uppercase: true))", at: pos)
        }
        guard count - pos >= length else {
            throw error(.invalidUTF8, "truncated UTF-8 sequence", at: pos)
        }
        let second = bytes[pos + 1]
        guard second >= secondLow && second <= secondHigh else {
            throw error(.invalidUTF8, "invalid UTF-8 sequence (overlong, surrogate or out of range)", at: pos)
        }
        for i in 2..<length where bytes[pos + i] & 0xC0 != 0x80 {
            throw error(.invalidUTF8, "invalid UTF-8 continuation byte", at: pos + i)
        }
        pos += length
    }

    // MARK: Numbers

    @inline(__always)
    private func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    private mutating func scanNumber(build: Bool) throws(JSONParseError) -> JSONValue {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        guard pos < count, isDigit(bytes[pos]) else {
            throw pos < count
                ? error(.invalidNumber, "expected a digit after '-'", at: pos)
                : error(.unexpectedEndOfInput, "expected a digit after '-'", at: pos)
        }
        var magnitude: UInt64 = 0
        var fits = true
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < count, isDigit(bytes[pos]) {
                throw error(.invalidNumber, "leading zeros are not allowed in numbers", at: pos - 1)
            }
        } else {
            while pos < count, isDigit(bytes[pos]) {
                if fits {
                    let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(UInt64(bytes[pos] &- UInt8(ascii: "0")))
                    if o1 || o2 { fits = false } else { magnitude = a }
                }
                pos += 1
            }
        }
        var integral = true
        if pos < count, bytes[pos] == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard pos < count, isDigit(bytes[pos]) else {
                throw pos < count
                    ? error(.invalidNumber, "expected a digit after '.' in a number", at: pos)
                    : error(.unexpectedEndOfInput, "expected a digit after '.' in a number", at: pos)
            }
            while pos < count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < count, bytes[pos] | 0x20 == UInt8(ascii: "e") {
            integral = false
            pos += 1
            if pos < count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < count, isDigit(bytes[pos]) else {
                throw pos < count
                    ? error(.invalidNumber, "expected a digit in the exponent of a number", at: pos)
                    : error(.unexpectedEndOfInput, "expected a digit in the exponent of a number", at: pos)
            }
            while pos < count, isDigit(bytes[pos]) { pos += 1 }
        }
        if integral && fits {
            // `-0` is a double: an integer zero has no sign, and a tool such as atan2 must see the one written.
            if negative && magnitude == 0 { return build ? .double(-0.0) : .null }
            if negative {
                if magnitude <= UInt64(Int64.max) + 1 {
                    return build ? .int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)) : .null
                }
            } else if magnitude <= UInt64(Int64.max) {
                return build ? .int(Int64(magnitude)) : .null
            }
        }
        let text = String(decoding: UnsafeBufferPointer(start: bytes + start, count: pos - start), as: UTF8.self)
        guard let d = Double(text), d.isFinite else {
            throw error(.numberOutOfRange, "number \(text) is too large to represent", at: start)
        }
        return build ? .double(d) : .null
    }
}
