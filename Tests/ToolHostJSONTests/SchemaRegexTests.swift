import Testing

@testable import ToolHostJSON

/// The linear-time matcher behind `pattern` and `patternProperties`.
@Suite("Schema patterns (linear-time regex)")
struct SchemaRegexTests {
    @Test(
        "patterns match as ECMA-262 with the u flag, searching anywhere in the string",
        arguments: [
            // Literals, anchors, alternation, groups.
            ("abc", "xabcx", true), ("^abc$", "abc", true), ("^abc$", "abcd", false), ("a$", "a\n", false),
            ("$", "", true), ("^$", "", true), ("^$", "a", false), ("a|b", "cb", true),
            ("^(?:a|bc)+$", "abcabc", true), ("^(?:a|bc)+$", "abcb", false), ("^(a|)+$", "aaa", true),
            ("^(?<year>\\d{4})-\\d{2}$", "2024-01", true),
            // Quantifiers, counted and lazy.
            ("^a{3}$", "aaa", true), ("^a{3}$", "aa", false), ("^a{2,}$", "aaaaa", true), ("^a{2,}$", "a", false),
            ("^a{2,3}$", "aaaa", false), ("^a{2,3}$", "aa", true), ("^a{0}b$", "b", true), ("^ab?c$", "ac", true),
            ("^a+?$", "aaa", true), ("^a{1,2}?b", "aab", true), ("^a*?b??$", "aa", true),
            ("^(?:a?){3}a{3}$", "aaa", true), ("(a*)*b", "aaab", true), ("^(?:a|b)*c{0,2}$", "abbacc", true),
            // Literal braces and brackets (Annex B).
            ("x{", "x{", true), ("a}", "a}", true), ("^]$", "]", true), ("x{1,a}", "x{1,a}", true),
            // Class escapes: \d and \w are ASCII, \s is ECMA white space.
            ("^\\d+$", "0123", true), ("^\\d$", "١", false), ("^\\D$", "x", true), ("^\\w+$", "a_Z9", true),
            ("^\\w$", "é", false), ("^\\W$", "é", true), ("^\\s$", "\u{A0}", true), ("^\\s$", "\u{FEFF}", true),
            ("^\\s$", "\u{2029}", true), ("^\\S$", " ", false),
            // Word boundaries.
            ("\\bfoo\\b", "a foo.", true), ("\\bfoo\\b", "afoo", false), ("\\Boo", "foo", true), ("^\\B$", "", true),
            ("\\b", "", false), ("\\b", "é", false),
            // The dot: any scalar but a line terminator.
            (".", "\n", false), ("^.$", "😀", true), ("^.$", "\u{2028}", false), ("^..$", "e\u{301}", true),
            ("^.$", "\r", false),
            // Classes.
            ("^[a-c]+$", "abcab", true), ("^[^a-c]$", "d", true), ("^[^a-c]$", "b", false),
            ("^[\\w-.]+$", "a-b.c", true), ("^[\\w-.]+$", "a b", false), ("^[-a]$", "-", true), ("^[a-]$", "-", true),
            ("[]", "a", false), ("^[^]$", "\n", true), ("^[\\b]$", "\u{8}", true), ("^[\\d\\s]+$", "1 2", true),
            ("^[\\D]$", "1", false), ("^[\\^x]$", "^", true), ("^[\\]]$", "]", true), ("^[a-cx-z]+$", "cxbz", true),
            ("^[^\\d\\s]$", "a", true), ("^[^\\d\\s]$", " ", false), ("^[[a]$", "[", true),
            // Escaped characters.
            ("^\\u00e9$", "é", true), ("^\\u{1F600}$", "😀", true), ("^\\uD83D\\uDE00$", "😀", true),
            ("^\\x41$", "A", true), ("^\\cJ$", "\n", true), ("^\\t\\n\\r\\v\\f$", "\t\n\r\u{B}\u{C}", true),
            ("^\\0$", "\u{0}", true), ("^a\\.b\\/c\\$$", "a.b/c$", true), ("a\\.b", "axb", false),
            ("^\\u{61}+$", "aa", true), ("^[\\u0041-\\u005A]+$", "AZ", true),
            // Unicode properties.
            ("^\\p{Lu}+$", "ÀB", true), ("^\\p{Lu}$", "a", false), ("^\\P{L}$", "1", true),
            ("^[\\p{L}\\d]+$", "é1", true), ("^\\p{gc=Nd}$", "٣", true), ("^\\p{ASCII}+$", "é", false),
        ] as [(String, String, Bool)])
    func matching(pattern: String, text: String, expected: Bool) throws {
        let regex = try SchemaRegex(pattern)
        #expect(regex.matches(text) == expected, "/\(pattern)/ against \(text.debugDescription)")
    }

    /// Backtracking engines take exponential time on these; the test would not finish if this one did.
    @Test(
        "patterns that backtrack catastrophically elsewhere are decided in one pass over long input",
        arguments: [
            ("(a+)+$", String(repeating: "a", count: 50_000) + "!", false),
            ("(a+)+$", String(repeating: "a", count: 50_000), true),
            ("^(a|aa)*$", String(repeating: "a", count: 60_000) + "!", false),
            ("(a|aa)*$", String(repeating: "a", count: 60_000) + "!", true),
            ("(a*)*b", String(repeating: "a", count: 100_000), false),
            ("^(\\w+\\s?)*$", String(repeating: "word ", count: 10_000) + "!", false),
            ("^(?:a?){40}a{40}$", String(repeating: "a", count: 40), true),
        ] as [(String, String, Bool)])
    func noCatastrophicBacktracking(pattern: String, text: String, expected: Bool) throws {
        let regex = try SchemaRegex(pattern)
        #expect(regex.matches(text) == expected)
    }

    @Test("the finding's schema rejects its 22-byte argument instead of freezing the validator")
    func theFindingsSchema() throws {
        let schema = try JSONSchema(["type": "string", "pattern": "(a+)+$"])
        #expect(!schema.isValid(.string(String(repeating: "a", count: 21) + "!")))
        #expect(!schema.isValid(.string(String(repeating: "a", count: 100_000) + "!")))
        #expect(schema.validate(.string(String(repeating: "a", count: 100_000))).isEmpty)
        let properties = try JSONSchema(["patternProperties": ["(a|aa)*b": false]])
        #expect(properties.isValid(.object(JSONObject([(String(repeating: "a", count: 50_000) + "!", 1)]))))
    }

    @Test(
        "back-references and lookaround are refused at compile time, naming the pattern, the offset and why",
        arguments: [
            ("(a)\\1", "at offset 3: back-references are not supported: they make matching exponential"),
            ("(?<n>a)\\k<n>", "at offset 7: back-references are not supported: they make matching exponential"),
            ("a(?=b)", "at offset 1: lookahead '(?=' is not supported"),
            ("a(?!b)", "at offset 1: lookahead '(?!' is not supported"),
            ("(?<=a)b", "at offset 0: lookbehind '(?<=' is not supported"),
            ("(?<!a)b", "at offset 0: lookbehind '(?<!' is not supported"),
        ])
    func refusedFeatures(pattern: String, reason: String) throws {
        let error = try #require(throws: JSONSchemaError.self) {
            try JSONSchema(["properties": ["name": ["pattern": .string(pattern)]]])
        }
        #expect(error.code == .invalidPattern)
        #expect(error.schemaPath.description == "/properties/name/pattern")
        #expect(error.message.hasPrefix("regular expression /\(pattern)/ refused in 'pattern' at schema path "))
        #expect(error.message.contains(reason), "\(error.message)")
    }

    @Test(
        "counted repetitions that would expand past the instruction limit are refused, naming the limit",
        arguments: [
            ("((a{1,100}){1,100}){1,100}", 11), ("a{20000}", 1), ("x{1000000000}", 1), ("(?:ab|cd){5000,}", 9),
            ("[a-z]{2,6000}", 5),
        ])
    func expansionLimit(pattern: String, offset: Int) throws {
        let error = try #require(throws: JSONSchemaError.self) {
            try JSONSchema(["patternProperties": .object(JSONObject([(pattern, true)]))])
        }
        #expect(error.code == .invalidPattern)
        #expect(error.schemaPath.description == "/patternProperties")
        #expect(
            error.message.contains(
                "at offset \(offset): the pattern is too large: it would compile to more than 10000 instructions"),
            "\(error.message)")
    }

    @Test("a validation that would match more than its step budget fails as a whole, naming the pattern")
    func matchBudget() throws {
        let long = JSONValue.string(String(repeating: "a", count: 10_000))
        var schema = try JSONSchema(["type": "string", "pattern": ".{0,1000}x"])
        schema.matchSteps = 1_000_000  // 10,000 characters × ~1,000 live states is about ten times that
        #expect(!schema.isValid(long))
        let violations = schema.validate(long)
        #expect(violations.count == 1)
        #expect(
            violations.first?.message
                == "(root): the arguments were not fully validated: matching their strings against the pattern "
                + "/.{0,1000}x/ and the schema's other patterns needs more than 1000000 steps; send shorter strings, "
                + "or ask the tool's author for a simpler pattern")
        #expect(schema.isValid(.string(String(repeating: "a", count: 500) + "x")))  // within the budget

        // Running out inside `not` must not turn into a pass.
        var negated = try JSONSchema(["not": ["pattern": ".{0,1000}x"]])
        negated.matchSteps = 1_000_000
        #expect(!negated.isValid(long))
        #expect(negated.validate(long).first?.message.contains("not fully validated") == true)
        #expect(negated.isValid(.string(String(repeating: "a", count: 500))))

        // The default budget leaves room for ordinary large arguments.
        let base64 = try JSONSchema(["type": "string", "pattern": "^[A-Za-z0-9+/]*={0,2}$"])
        #expect(base64.isValid(.string(String(repeating: "QUJD", count: 65_536) + "==")))
    }

    @Test("large but bounded patterns compile, and repeating an empty group costs nothing")
    func boundedPatterns() throws {
        #expect(try SchemaRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$").matches("_" + String(repeating: "x", count: 127)))
        #expect(try !SchemaRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$").matches(String(repeating: "x", count: 129)))
        #expect(try SchemaRegex("((?:){1000000}){1000000}").matches(""))
        #expect(try SchemaRegex("^(?:a{1,50}){1,50}$").matches(String(repeating: "a", count: 2_500)))
    }

    @Test(
        "malformed patterns are refused as invalid, with the offset of the mistake",
        arguments: [
            ("a**", "at offset 2: nothing to repeat"), ("*a", "at offset 0: nothing to repeat"),
            ("^*", "at offset 1: nothing to repeat"), ("(a", "at offset 0: missing ')'"),
            ("a)", "at offset 1: unmatched ')'"), ("[b-a]", "at offset 2: range out of order"),
            ("[ab", "at offset 0: missing ']'"), ("a{3,2}", "at offset 1: numbers out of order"),
            ("\\a", "at offset 0: unknown escape '\\a'"), ("\\A\\d", "at offset 0: unknown escape '\\A'"),
            ("\\u12", "at offset 0: '\\u' must be followed"), ("(?i)a", "at offset 0: unsupported group syntax"),
            ("a\\", "at offset 1: the pattern ends with a lone '\\'"),
            ("^[[:alpha:]]+$", "at offset 2: POSIX classes such as '[:alpha:]' are not ECMA-262"),
        ])
    func malformed(pattern: String, reason: String) throws {
        let error = try #require(throws: JSONSchemaError.self) { try JSONSchema(["pattern": .string(pattern)]) }
        #expect(error.code == .invalidPattern)
        #expect(error.message.hasPrefix("invalid regular expression /\(pattern)/ in 'pattern'"), "\(error.message)")
        #expect(error.message.contains(reason), "\(error.message)")
    }
}
