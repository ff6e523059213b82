import Testing

@testable import ToolHostJSON

@Suite("JSONValue and JSONObject")
struct JSONValueTests {
    @Test("numbers compare and hash by value")
    func numberEquality() {
        #expect(JSONValue.int(1) == .double(1.0))
        #expect(JSONValue.int(1).hashValue == JSONValue.double(1.0).hashValue)
        #expect(JSONValue.int(1) != .double(1.5))
        #expect(JSONValue.int(.max) != .double(9_223_372_036_854_775_808))
        #expect(JSONValue.int(0) == .double(-0.0))
        #expect(Set<JSONValue>([1, 1.0, 2]).count == 2)
        #expect(JSONValue.int(1) != .bool(true))
    }

    @Test("objects compare regardless of order")
    func objectEquality() {
        let a: JSONValue = ["x": 1, "y": [1, 2]]
        let b: JSONValue = ["y": [1.0, 2], "x": 1]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != ["x": 1])
        #expect(a != ["x": 1, "y": [2, 1]])
    }

    @Test("accessors")
    func accessors() {
        let v: JSONValue = ["s": "t", "i": 3, "d": 2.0, "f": 2.5, "b": false, "a": [nil], "o": [:]]
        #expect(v["s"]?.stringValue == "t")
        #expect(v["i"]?.intValue == 3)
        #expect(v["d"]?.intValue == 2)
        #expect(v["f"]?.intValue == nil)
        #expect(v["f"]?.doubleValue == 2.5)
        #expect(v["b"]?.boolValue == false)
        #expect(v["a"]?[0]?.isNull == true)
        #expect(v["a"]?[1] == nil)
        #expect(v["o"]?.objectValue?.isEmpty == true)
        #expect(v["missing"] == nil)
        #expect(v["i"]?.typeName == "integer")
        #expect(v["d"]?.typeName == "integer")
        #expect(v["f"]?.typeName == "number")
        #expect(v["a"]?.typeName == "array")
        #expect(JSONValue.null.typeName == "null")
    }

    @Test("object mutation keeps order", arguments: [3, 40])
    func mutation(size: Int) {
        var o = JSONObject((0..<size).map { ("k\($0)", JSONValue.int(Int64($0))) })
        o.set("k1", "changed")
        o.set("new", true)
        #expect(o["k1"] == "changed")
        #expect(o.keys.first == "k0")
        #expect(o.keys.last == "new")
        #expect(o.count == size + 1)
        #expect(o.removeValue(forKey: "k0") == .int(0))
        #expect(o.removeValue(forKey: "k0") == nil)
        #expect(o["k0"] == nil)
        #expect(o["k2"] == .int(2))
        #expect(o.keys.first == "k1")
        #expect(o.map(\.key).count == size)
    }
}

@Test("interpolated string literals are strings")
func interpolation() {
    let type = "int32_t"
    let value: JSONValue = ["description": "a C \(type)"]
    #expect(value["description"] == .string("a C int32_t"))
}
