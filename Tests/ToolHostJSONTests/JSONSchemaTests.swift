import Testing

@testable import ToolHostJSON

@Suite("JSON Schema validator")
struct JSONSchemaTests {
    static let toolSchema: JSONValue = [
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["name", "age"],
        "additionalProperties": false,
        "properties": [
            "name": ["type": "string", "minLength": 1, "maxLength": 3],
            "age": ["type": "integer", "minimum": 0, "maximum": 150],
            "tags": ["type": "array", "items": ["type": "string"], "uniqueItems": true],
        ],
    ]

    @Test("valid instances give no violations")
    func valid() throws {
        let schema = try JSONSchema(Self.toolSchema)
        let instance: JSONValue = ["name": "Bob", "age": 30.0, "tags": ["a", "b"]]
        #expect(schema.validate(instance).isEmpty)
        #expect(schema.isValid(instance))
    }

    @Test("violations carry instance path, keyword, schema path and message")
    func violations() throws {
        let schema = try JSONSchema(Self.toolSchema)
        let violations = schema.validate(["name": "Bobby", "age": 300, "tags": ["a", "a"], "x": 1])
        #expect(!schema.isValid(["age": 300]))
        let byKeyword = Dictionary(uniqueKeysWithValues: violations.map { ($0.keyword, $0) })
        #expect(violations.count == 4)
        let maximum = try #require(byKeyword["maximum"])
        #expect(maximum.message == "/age: 300 is greater than the maximum 150")
        #expect(maximum.instancePath.description == "/age")
        #expect(maximum.schemaPath.description == "/properties/age/maximum")
        #expect(byKeyword["maxLength"]?.message == "/name: string is longer than 3 characters (it has 5)")
        #expect(byKeyword["uniqueItems"]?.instancePath.description == "/tags")
        #expect(byKeyword["additionalProperties"]?.instancePath.description == "/x")
        #expect(byKeyword["additionalProperties"]?.schemaPath.description == "/additionalProperties")
        let missing = schema.validate(["name": "A"])
        #expect(missing.map(\.message) == ["(root): missing required property 'age'"])
    }

    @Test(
        "unsupported and unknown keywords are refused with their schema path",
        arguments: [
            (
                ##"{"properties":{"a":{"unevaluatedProperties":false}}}"##, "unevaluatedProperties",
                "/properties/a/unevaluatedProperties"
            ),
            (##"{"items":{"$dynamicRef":"#x"}}"##, "$dynamicRef", "/items/$dynamicRef"),
            (##"{"allOf":[{"frobnicate":1}]}"##, "frobnicate", "/allOf/0/frobnicate"),
            (##"{"$defs":{"x":{"unevaluatedItems":false}}}"##, "unevaluatedItems", "/$defs/x/unevaluatedItems"),
            (##"{"definitions":{}}"##, "definitions", "/definitions"),
        ] as [(String, String, String)])
    func unsupported(text: String, keyword: String, path: String) throws {
        let source = try JSONValue.parse(text)
        do {
            _ = try JSONSchema(source)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == .unsupportedKeyword)
            #expect(error.isUnsupported)
            #expect(error.keyword == keyword)
            #expect(error.schemaPath.description == path)
            #expect(error.message.contains("'\(keyword)'") && error.message.contains(path))
            #expect(error.message.contains("not supported by toolhost"))
        }
    }

    @Test("extra ignored keywords can be configured, known-unsupported ones cannot")
    func ignoredKeywords() throws {
        let configuration = JSONSchema.Configuration(ignoredKeywords: ["x-ui", "unevaluatedProperties"])
        _ = try JSONSchema(["x-ui": ["widget": "text"], "type": "string"], configuration: configuration)
        #expect(throws: JSONSchemaError.self) {
            try JSONSchema(["unevaluatedProperties": false], configuration: configuration)
        }
        #expect(throws: JSONSchemaError.self) { try JSONSchema(["x-ui": 1]) }
    }

    @Test(
        "malformed keyword values are compile errors",
        arguments: [
            (##"{"minimum":"x"}"##, JSONSchemaError.Code.invalidKeywordValue, "/minimum"),
            (##"{"required":[1]}"##, .invalidKeywordValue, "/required"),
            (##"{"required":["a","a"]}"##, .invalidKeywordValue, "/required"),
            (##"{"properties":{"a":{"type":"float"}}}"##, .invalidKeywordValue, "/properties/a/type"),
            (##"{"minLength":-1}"##, .invalidKeywordValue, "/minLength"),
            (##"{"minLength":1.5}"##, .invalidKeywordValue, "/minLength"),
            (##"{"multipleOf":0}"##, .invalidKeywordValue, "/multipleOf"),
            (##"{"items":[{}]}"##, .invalidKeywordValue, "/items"),
            (##"{"allOf":[]}"##, .invalidKeywordValue, "/allOf"),
            (##"{"not":5}"##, .invalidSchema, "/not"),
            (##"{"pattern":"(unclosed"}"##, .invalidPattern, "/pattern"),
            (##"{"patternProperties":{"[":{}}}"##, .invalidPattern, "/patternProperties"),
            (##"{"$ref":"#/$defs/missing"}"##, .unresolvableReference, "/$ref"),
            (##"{"$ref":"#nowhere"}"##, .unresolvableReference, "/$ref"),
            (##"{"$ref":"https://example.com/schema"}"##, .unsupportedReference, "/$ref"),
            (##"{"$ref":"other.json#/a"}"##, .unsupportedReference, "/$ref"),
            (##"{"$defs":{"a":{"$id":"urn:x"}}}"##, .unsupportedIdentifier, "/$defs/a/$id"),
            (##"{"$schema":"http://json-schema.org/draft-07/schema#"}"##, .unsupportedDialect, "/$schema"),
            (
                ##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##,
                .infiniteRecursion, ""
            ),
            (##"{"allOf":[{"$ref":"#"}]}"##, .infiniteRecursion, ""),
            ("[]", .invalidSchema, ""),
        ] as [(String, JSONSchemaError.Code, String)])
    func malformed(text: String, code: JSONSchemaError.Code, path: String) throws {
        let source = try JSONValue.parse(text)
        do {
            _ = try JSONSchema(source)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == code, "\(text): \(error.message)")
            if code != .infiniteRecursion { #expect(error.schemaPath.description == path, "\(text)") }
        }
    }

    @Test("recursive schemas validate trees")
    func recursive() throws {
        let schema = try JSONSchema(
            try JSONValue.parse(
                ##"{"$defs":{"node":{"type":"object","required":["value"],"properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}}}},"$ref":"#/$defs/node"}"##
            ))
        let tree = try JSONValue.parse(##"{"value":1,"children":[{"value":2,"children":[{"value":3}]},{"value":4}]}"##)
        #expect(schema.isValid(tree))
        let bad = try JSONValue.parse(##"{"value":1,"children":[{"value":2,"children":[{"value":"x"}]}]}"##)
        let violations = schema.validate(bad)
        #expect(violations.map(\.instancePath.description) == ["/children/0/children/0/value"])
        #expect(violations.first?.schemaPath.description == "/$defs/node/properties/value/type")
    }

    @Test("$ref resolves escaped pointers, percent-encoding and anchors; root $id is honoured")
    func refs() throws {
        let schema = try JSONSchema(
            try JSONValue.parse(
                ##"{"$id":"https://example.com/s","$defs":{"a/b":{"type":"integer"},"c~d":{"type":"string"},"e f":{"$anchor":"ef","type":"boolean"}},"properties":{"x":{"$ref":"#/$defs/a~1b"},"y":{"$ref":"#/$defs/c~0d"},"z":{"$ref":"#/$defs/e%20f"},"w":{"$ref":"#ef"},"v":{"$ref":"https://example.com/s#/$defs/a~1b"}}}"##
            ))
        #expect(schema.isValid(["x": 1, "y": "s", "z": true, "w": false, "v": 2]))
        #expect(!schema.isValid(["x": "1"]))
        #expect(!schema.isValid(["y": 1]))
        #expect(!schema.isValid(["z": 1]))
        #expect(!schema.isValid(["w": 1]))
        #expect(!schema.isValid(["v": 1.5]))
    }

    @Test(
        "multipleOf is exact in decimal",
        arguments: [
            (JSONValue.double(0.0075), JSONValue.double(0.0001), true), (0.3, 0.1, true), (0.31, 0.1, false),
            (1e308, 0.123456789, false), (12_391_239_123, 1e-8, true), (9_007_199_254_740_993, 3, true),
            (4.5, 1.5, true), (35, 1.5, false), (-10, 5, true), (.int(.min), 2, true), (19.99, 0.01, true),
            (1e-320, 1e-322, true),
        ] as [(JSONValue, JSONValue, Bool)])
    func multipleOf(value: JSONValue, divisor: JSONValue, expected: Bool) throws {
        let schema = try JSONSchema(["multipleOf": divisor])
        #expect(schema.isValid(value) == expected, "\(value) multipleOf \(divisor)")
    }

    @Test("lengths count Unicode code points")
    func lengths() throws {
        let schema = try JSONSchema(["minLength": 2, "maxLength": 2])
        #expect(schema.isValid("😀😀"))  // 4 UTF-16 units, 2 code points
        #expect(!schema.isValid("😀"))
        #expect(schema.isValid("e\u{301}"))  // one grapheme, two code points
        #expect(!schema.isValid("abc"))
    }

    @Test("patterns are unanchored ECMA-style searches")
    func patterns() throws {
        let schema = try JSONSchema(["pattern": "b+c", "type": "string"])
        #expect(schema.isValid("abbbcd"))
        #expect(!schema.isValid("abd"))
        let anchored = try JSONSchema(["pattern": "^\\d{3}$"])
        #expect(anchored.isValid("123"))
        #expect(!anchored.isValid("1234"))
        #expect(!anchored.isValid("١٢٣"))  // \d is ASCII-only, as in ECMA-262
        #expect(anchored.isValid(5))  // non-strings are ignored
    }

    @Test("numeric bounds compare integers and doubles exactly")
    func bounds() throws {
        let schema = try JSONSchema(["maximum": 9_007_199_254_740_992, "exclusiveMinimum": 0.5])
        #expect(!schema.isValid(9_007_199_254_740_993))
        #expect(schema.isValid(9_007_199_254_740_992))
        #expect(!schema.isValid(0.5))
        #expect(schema.isValid(1))
        #expect(schema.isValid("not a number"))
    }

    @Test("oneOf, anyOf, not and if/then/else messages")
    func combinators() throws {
        let schema = try JSONSchema(
            try JSONValue.parse(
                ##"{"oneOf":[{"type":"integer"},{"minimum":0}],"not":{"const":7},"if":{"type":"string"},"then":{"maxLength":1}}"##
            ))
        #expect(schema.isValid(-1))
        #expect(schema.validate(5).map(\.keyword) == ["oneOf"])
        #expect(schema.validate(7).map(\.keyword).sorted() == ["not", "oneOf"])
        #expect(schema.validate("ab").map(\.keyword) == ["maxLength"])  // a string passes "minimum" only
    }

    @Test("supportedKeywords lists what is implemented")
    func keywords() {
        for keyword in ["type", "$ref", "$defs", "minimum", "prefixItems", "dependentSchemas", "format", "title"] {
            #expect(JSONSchema.supportedKeywords.contains(keyword))
        }
        for keyword in ["unevaluatedProperties", "$dynamicRef", "$vocabulary", "definitions"] {
            #expect(!JSONSchema.supportedKeywords.contains(keyword))
        }
    }
}
