import Testing

@testable import ToolHostJSON

@Suite("JSONPointer")
struct JSONPointerTests {
    @Test("renders with escapes")
    func render() {
        var p = JSONPointer()
        #expect(p.description == "")
        p.append("a")
        p.append(0)
        p.append("b/c")
        p.append("~d")
        #expect(p.description == "/a/0/b~1c/~0d")
    }

    @Test("parses and round-trips", arguments: ["", "/", "/a/0/b~1c", "/~01", "//x", "/~0~1"])
    func parse(text: String) throws {
        let p = try #require(JSONPointer(text))
        #expect(p.description == text)
    }

    @Test("rejects malformed pointers", arguments: ["a", "/~2", "/~"])
    func malformed(text: String) {
        #expect(JSONPointer(text) == nil)
    }

    @Test("resolves against values (RFC 6901 examples)")
    func resolve() throws {
        let doc = try JSONValue.parse(
            #"{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\j":5,"k\"l":6," ":7,"m~n":8}"#)
        let cases: [(String, JSONValue?)] = [
            ("", doc), ("/foo", ["bar", "baz"]), ("/foo/0", "bar"), ("/", 0), ("/a~1b", 1), ("/c%d", 2),
            ("/e^f", 3), ("/g|h", 4), ("/i\\j", 5), ("/k\"l", 6), ("/ ", 7), ("/m~0n", 8),
            ("/foo/2", nil), ("/foo/01", nil), ("/foo/-", nil), ("/nope", nil), ("/foo/0/x", nil),
        ]
        for (text, expected) in cases {
            #expect(try #require(JSONPointer(text)).resolve(in: doc) == expected, "\(text)")
        }
    }
}
