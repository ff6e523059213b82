import Testing

@testable import ToolHostJSON

@Suite("Parser")
struct JSONParserTests {
    @Test("parses every kind of value")
    func parsesValues() throws {
        let value = try JSONValue.parse(
            #" { "a" : 1, "b": "two", "c": [true, null, false], "d": -0.5e1, "e": {}, "f": [], "g": "\u00e9\ud83d\ude00\n" } "#
        )
        #expect(value["a"] == .int(1))
        #expect(value["b"]?.stringValue == "two")
        #expect(value["c"] == [true, nil, false])
        #expect(value["d"] == .double(-5))
        #expect(value["e"] == .object(JSONObject()))
        #expect(value["f"] == .array([]))
        #expect(value["g"]?.stringValue == "é😀\n")
        #expect(value.objectValue?.keys == ["a", "b", "c", "d", "e", "f", "g"])
    }

    @Test(
        "numbers keep integers exact and other numbers as doubles",
        arguments: [
            ("0", JSONValue.int(0)), ("-0", .double(-0.0)), ("9223372036854775807", .int(.max)),
            ("-9223372036854775808", .int(.min)), ("9223372036854775808", .double(9_223_372_036_854_775_808)),
            ("1.5", .double(1.5)), ("1E3", .double(1000)), ("1e-2", .double(0.01)),
            ("123456789012345678901234567890", .double(1.2345678901234568e29)),
        ])
    func numbers(text: String, expected: JSONValue) throws {
        let value = try JSONValue.parse(text)
        #expect(value == expected)
        switch (value, expected) {
        case (.int, .int), (.double, .double): break
        default: Issue.record("\(text) parsed as \(value), expected representation \(expected)")
        }
    }

    @Test(
        "rejects each strictness violation with the right code",
        arguments: [
            ("[1,]", JSONParseError.Code.unexpectedCharacter),
            (#"{"a":1,}"#, .unexpectedCharacter),
            ("01", .invalidNumber),
            ("-01", .invalidNumber),
            ("1.", .unexpectedEndOfInput),
            ("1.e3", .invalidNumber),
            ("-", .unexpectedEndOfInput),
            ("+1", .unexpectedCharacter),
            (".5", .unexpectedCharacter),
            ("NaN", .unexpectedCharacter),
            ("Infinity", .unexpectedCharacter),
            ("-Infinity", .invalidNumber),
            ("1e400", .numberOutOfRange),
            ("\"a\tb\"", .controlCharacterInString),
            ("\"a\u{0}b\"", .controlCharacterInString),
            (#""\x""#, .invalidEscape),
            (#""\u12""#, .invalidEscape),
            (#""\ud800""#, .loneSurrogate),
            (#""\udc00""#, .loneSurrogate),
            (#""\ud800\u0041""#, .loneSurrogate),
            (#"{"a":1,"a":2}"#, .duplicateKey),
            (#"{"a":1,"\u0061":2}"#, .duplicateKey),
            ("1 2", .trailingData),
            ("{} x", .trailingData),
            ("", .unexpectedEndOfInput),
            ("   ", .unexpectedEndOfInput),
            ("[1", .unexpectedEndOfInput),
            (#"{"a" 1}"#, .unexpectedCharacter),
            ("tru", .unexpectedEndOfInput),
            ("trux", .unexpectedCharacter),
            ("nul", .unexpectedEndOfInput),
            ("// comment\n1", .unexpectedCharacter),
            ("'a'", .unexpectedCharacter),
        ])
    func rejects(text: String, code: JSONParseError.Code) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        do {
            _ = try JSONValue.parse(text)
        } catch {
            #expect(error.code == code, "\(text.debugDescription): \(error.message)")
        }
        // The validator without a tree applies exactly the same rules.
        #expect(!JSONValue.isValid(text))
        do {
            try JSONValue.validate(text)
        } catch {
            #expect(error.code == code, "validate \(text.debugDescription): \(error.message)")
        }
    }

    @Test(
        "rejects ill-formed UTF-8",
        arguments: [
            [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong 3-byte
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate U+D800
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xFF, 0x22],  // invalid byte
            [0x22, 0xC3, 0x22],  // truncated
            [0x22, 0x80, 0x22],  // lone continuation byte
        ] as [[UInt8]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        do {
            _ = try JSONValue.parse(bytes)
            Issue.record("accepted \(bytes)")
        } catch {
            #expect(error.code == .invalidUTF8, "\(error.message)")
        }
        #expect(!JSONValue.isValid(utf8: bytes))
    }

    @Test("accepts well-formed multi-byte UTF-8 at the edges of each range")
    func acceptsUTF8() throws {
        let text = "\"\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFF}\u{10000}\u{10FFFF}\""
        #expect(try JSONValue.parse(Array(text.utf8)).stringValue == String(text.dropFirst().dropLast()))
        #expect(JSONValue.isValid(utf8: Array(text.utf8)))
    }

    @Test("error names the duplicate key")
    func duplicateKeyMessage() {
        do {
            _ = try JSONValue.parse(#"{"name": 1, "name": 2}"#)
            Issue.record("accepted a duplicate key")
        } catch {
            #expect(error.code == .duplicateKey)
            #expect(error.message.contains("\"name\""))
            #expect(error.offset == 12)
        }
    }

    @Test("error says what was expected, with line and column")
    func lineAndColumn() {
        do {
            _ = try JSONValue.parse("{\n  \"a\": 1,\n  \"b\": 2 ]\n}")
            Issue.record("accepted bad input")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 10)
            #expect(error.offset == 21)
            #expect(error.message.hasPrefix("expected ',' or '}' after object member at line 3, column 10"))
        }
        do {
            _ = try JSONValue.parse(#"{"a":1,"b":"two" "c":3}"#)
            Issue.record("accepted bad input")
        } catch {
            #expect(error.message.hasPrefix("expected ',' or '}' after object member at line 1, column 18"))
        }
    }

    @Test("nesting depth is bounded and configurable")
    func depth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        do {
            _ = try JSONValue.parse(deep)
        } catch {
            #expect(error.code == .nestingTooDeep)
        }
        #expect(!JSONValue.isValid(deep))
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(JSONValue.isValid(ok))
        _ = try JSONValue.parse(ok)
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(!JSONValue.isValid(tooDeep))
        let options = JSONParseOptions(maxDepth: 3)
        _ = try JSONValue.parse(#"{"a":[{}]}"#, options: options)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(#"{"a":[{"b":[]}]}"#, options: options) }
    }

    @Test("large objects detect duplicates and look keys up")
    func largeObjects() throws {
        let members = (0..<100).map { "\"k\($0)\": \($0)" }
        let value = try JSONValue.parse("{" + members.joined(separator: ",") + "}")
        #expect(value["k73"] == .int(73))
        #expect(value.objectValue?.count == 100)
        let duplicated = "{" + (members + ["\"k42\": 0"]).joined(separator: ",") + "}"
        #expect(throws: JSONParseError.self) { try JSONValue.parse(duplicated) }
        #expect(!JSONValue.isValid(duplicated))
        #expect(JSONValue.isValid("{" + members.joined(separator: ",") + "}"))
    }

    @Test("keys that are canonically equivalent but have different code points are distinct")
    func codePointKeys() throws {
        let value = try JSONValue.parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}")
        #expect(value.objectValue?.count == 2)
        #expect(value["\u{E9}"] == .int(1))
        #expect(value["e\u{301}"] == .int(2))
    }

    @Test("byte collections parse like arrays")
    func collections() throws {
        let bytes = Array(#"  [1, "x"]  "#.utf8)
        #expect(try JSONValue.parse(bytes[...]) == [1, "x"])
        #expect(try JSONValue.parse(bytes.lazy.map { $0 }) == [1, "x"])
    }
}
