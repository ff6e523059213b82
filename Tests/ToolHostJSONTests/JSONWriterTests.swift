import Testing

@testable import ToolHostJSON

@Suite("Writers")
struct JSONWriterTests {
    @Test("compact output keeps insertion order and round-trips")
    func compact() throws {
        let text = #"{"z":1,"a":[true,null,-2.5,"x\"y"],"m":{"b":1.0,"a":{}}}"#
        let value = try JSONValue.parse(text)
        #expect(value.serializedString == text)
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test(
        "canonical form is identical across key order, whitespace and number spelling",
        arguments: [
            (#"{"b":1,"a":[1.0,2]}"#, #" { "a" : [ 1e0 , 2.00 ] , "b" : 10E-1 } "#),
            (#"{"x":-0}"#, #"{"x":-0.0}"#),
            (#"{"x":-0e5}"#, #"{"x":-0.000}"#),
            (#"{"n":1.5e-7}"#, #"{"n":0.00000015}"#),
            (#"{"n":1e300}"#, #"{"n":1.0E+300}"#),
            (#"{"n":12345678901234567890}"#, #"{"n":1.2345678901234567890e19}"#),
            (#"{"s":"\u00e9\/"}"#, "{\"s\":\"\u{E9}/\"}"),
            (#"{"o":{"d":4,"c":3},"a":{"y":2,"x":1}}"#, #"{"a":{"x":1,"y":2},"o":{"c":3,"d":4}}"#),
        ])
    func canonicalInvariance(a: String, b: String) throws {
        let x = try JSONValue.parse(a)
        let y = try JSONValue.parse(b)
        #expect(x == y)
        #expect(x.hashValue == y.hashValue)
        #expect(x.canonical() == y.canonical())
    }

    @Test(
        "canonical numbers",
        arguments: [
            ("1.0", "1"), ("1e0", "1"), ("-0", "-0.0"), ("-0.0", "-0.0"), ("0.0", "0"), ("100", "100"), ("1.5", "1.5"),
            ("1e-7", "1e-7"), ("1.5E+300", "1.5e300"), ("9223372036854775807", "9223372036854775807"),
            ("-9223372036854775808", "-9223372036854775808"), ("9223372036854775808", "9.223372036854776e18"),
            ("0.1", "0.1"), ("1e21", "1e21"), ("123456.789", "123456.789"),
        ])
    func canonicalNumbers(text: String, expected: String) throws {
        #expect(String(decoding: try JSONValue.parse(text).canonical(), as: UTF8.self) == expected)
    }

    /// `-0` keeps its sign through the canonical form plugins receive, and does not share a cache key with `0`.
    @Test func negativeZeroKeepsItsSign() throws {
        let negative = try JSONValue.parse(#"{"x":-0}"#)
        let positive = try JSONValue.parse(#"{"x":0}"#)
        #expect(negative.canonical() != positive.canonical())
        let x = try #require(JSONValue.parse(negative.canonical())["x"]?.doubleValue)
        #expect(x == 0 && x.sign == .minus)
    }

    @Test("keys sort by code point at every depth")
    func keyOrder() throws {
        let value = try JSONValue.parse(
            "{\"b\":{\"\u{E9}\":1,\"z\":2,\"Z\":3},\"a\":[{\"y\":1,\"x\":2}],\"\u{1F600}\":0,\"\u{FFFF}\":0}")
        let expected = "{\"a\":[{\"x\":2,\"y\":1}],\"b\":{\"Z\":3,\"z\":2,\"\u{E9}\":1},\"\u{FFFF}\":0,\"\u{1F600}\":0}"
        #expect(String(decoding: value.canonical(), as: UTF8.self) == expected)
    }

    @Test("strings are escaped minimally")
    func escaping() {
        let value = JSONValue.string("q\" b\\ /\n\t\r\u{8}\u{C}\u{1}\u{1F}\u{7F} é😀")
        let expected = #""q\" b\\ /\n\t\r\b\f\u0001\u001f"# + "\u{7F} é😀\""
        #expect(String(decoding: value.canonical(), as: UTF8.self) == expected)
        #expect(value.serializedString == expected)
    }

    @Test("pretty printing")
    func pretty() throws {
        let value = try JSONValue.parse(#"{"a":[1,{"b":null}],"c":{},"d":[]}"#)
        let expected = """
            {
              "a": [
                1,
                {
                  "b": null
                }
              ],
              "c": {},
              "d": []
            }
            """
        #expect(value.prettyPrinted(indent: 2) == expected)
        #expect(try JSONValue.parse(value.prettyPrinted(indent: 4)) == value)
    }
}
