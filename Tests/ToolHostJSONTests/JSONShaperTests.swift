import Testing

@testable import ToolHostJSON

/// Shaping a result to a budget: valid JSON within the budget for every value (a seeded property test over random
/// values of every size, depth and script), the same bytes every time, and the cuts a reader relies on.
@Suite struct JSONShaperTests {
    /// SplitMix64: a small seeded generator, so every failing case can be replayed from its seed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Characters from several scripts, escapes and controls, emoji (4-byte UTF-8) and a combining mark.
    static let alphabet: [Character] = Array("aZ09 _-\"\\/\n\t\u{1}\u{1F}éßøЖж中文字日本語🙂🚀👩‍💻\u{301}ab")

    static func randomString(_ rng: inout SeededGenerator, maxLength: Int) -> String {
        let length = Int.random(in: 0...maxLength, using: &rng)
        return String((0..<length).map { _ in alphabet.randomElement(using: &rng)! })
    }

    /// A random value: containers up to `depth` deep, with `width` children at most.
    static func randomValue(
        _ rng: inout SeededGenerator, depth: Int, width: Int, stringLength: Int, container: Bool = false
    ) -> JSONValue {
        let kind = Int.random(in: (container ? 5 : 0)..<(depth > 0 || container ? 8 : 5), using: &rng)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng))
        case 3: return .double(Double.random(in: -1e300...1e300, using: &rng))
        case 4: return .string(randomString(&rng, maxLength: stringLength))
        case 5, 6:
            let count = Int.random(in: 0...width, using: &rng)
            return .array(
                (0..<count).map { _ in
                    randomValue(&rng, depth: depth - 1, width: width, stringLength: stringLength)
                })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0...width, using: &rng) {
                object.set(
                    randomString(&rng, maxLength: 12),
                    randomValue(&rng, depth: depth - 1, width: width, stringLength: stringLength))
            }
            return .object(object)
        }
    }

    /// 320 seeded values, from a few bytes to a few megabytes, up to 12 deep: whenever one is over its budget, the
    /// shaped bytes parse, fit the budget, carry the note with the original size, and are the same on a second run.
    @Test(arguments: 0..<8)
    func everyShapedResultParsesAndFitsItsBudget(batch: Int) throws {
        var shaped = 0
        for seed in UInt64(batch * 40)..<UInt64(batch * 40 + 40) {
            var rng = SeededGenerator(state: seed)
            let depth = Int.random(in: 0...12, using: &rng)
            let width = Int.random(in: 1...(depth > 6 ? 3 : depth > 2 ? 6 : 120), using: &rng)
            let stringLength = [4, 40, 400, 3000].randomElement(using: &rng)!
            // Mostly containers at the top (a scalar is shaped only when it is a long string).
            let value = Self.randomValue(
                &rng, depth: depth, width: width, stringLength: stringLength, container: seed % 8 != 0)
            let original = value.serialized()
            guard original.count > JSONShaper.minimumBudget else { continue }
            // Anywhere from the smallest budget to just under the value's size.
            let budget = Int.random(in: JSONShaper.minimumBudget...(original.count - 1), using: &rng)
            shaped += 1
            let fields: [(String, JSONValue)] = [
                ("resultId", .string(String(repeating: "f", count: 32))),
                ("retrieve", .string("GET /v1/results/" + String(repeating: "f", count: 32))),
            ]
            let (bytes, _) = try JSONShaper.shape(original, budget: budget, noteFields: fields)
            #expect(bytes.count <= budget, "seed \(seed): \(bytes.count) bytes over a budget of \(budget)")
            let parsed = try JSONValue.parse(bytes)
            #expect(parsed["truncated"]?["originalBytes"] == .int(Int64(original.count)), "seed \(seed)")
            #expect(parsed["truncated"]?["budgetBytes"] == .int(Int64(budget)), "seed \(seed)")
            #expect(parsed["result"] != nil, "seed \(seed)")
            let again = try JSONShaper.shape(original, budget: budget, noteFields: fields)
            #expect(again.bytes == bytes, "seed \(seed): not deterministic")
        }
        #expect(shaped >= 5, "the batch should exercise shaping, not only values under budget")
    }

    /// A long array keeps its first and last items around a marker that counts the cut; the note counts them too.
    @Test func aLongArrayKeepsItsEndsAndSaysHowManyWereCut() throws {
        let value = JSONValue.array((0..<10_000).map { .int(Int64($0)) })
        let (bytes, cuts) = try JSONShaper.shape(value.serialized(), budget: 2048)
        let result = try #require(try JSONValue.parse(bytes)["result"]?.arrayValue)
        #expect(result.first == 0)
        #expect(result.last == 9999)
        let marker = try #require(result.first { $0.stringValue != nil }?.stringValue)
        let kept = result.count - 1
        #expect(marker == "… \(10_000 - kept) items cut …")
        #expect(cuts.itemsCut == 10_000 - kept)
        #expect(try JSONValue.parse(bytes)["truncated"]?["itemsCut"] == .int(Int64(10_000 - kept)))
    }

    /// A long string is cut on a character boundary (never half an emoji) and says how many bytes were cut.
    @Test func aLongStringIsCutOnACharacterBoundaryWithAMarker() throws {
        let text = String(repeating: "🙂", count: 5000)
        let (bytes, cuts) = try JSONShaper.shape(JSONValue.string(text).serialized(), budget: 1024)
        let result = try #require(try JSONValue.parse(bytes)["result"]?.stringValue)
        let marker = try #require(result.range(of: "…[+"))
        #expect(result[..<marker.lowerBound].allSatisfy { $0 == "🙂" })
        #expect(result.hasSuffix("bytes]"))
        #expect(cuts.stringsCut == 1)
        let kept = result[..<marker.lowerBound].utf8.count
        #expect(result.hasSuffix("…[+\(text.utf8.count - kept) bytes]"))
    }

    /// Nesting past the depth a budget allows is elided with a description of what was there.
    @Test func deepNestingIsElidedWithADescription() throws {
        var value: JSONValue = ["leaf": .string(String(repeating: "x", count: 3000))]
        for _ in 0..<200 { value = ["child": value, "pad": .string(String(repeating: "y", count: 40))] }
        let (bytes, cuts) = try JSONShaper.shape(value.serialized(), budget: 1024)
        #expect(bytes.count <= 1024)
        #expect(cuts.valuesElided >= 1)
        #expect(String(decoding: bytes, as: UTF8.self).contains("… object of 2 members"))
    }

    /// The shaper reads the tool's bytes as they are: whitespace between tokens (a pretty-printed result) and escapes
    /// in strings and keys give the same shaped value as the compact text.
    @Test(arguments: [1024, 1500, 4096])
    func whitespaceAndEscapesInTheBytesDoNotChangeTheShape(budget: Int) throws {
        let value: JSONValue = [
            "data": [
                "items": .array(
                    (0..<3000).map {
                        [
                            "id": .int(Int64($0)), "name": .string("a \"quoted\"\tname \($0) ✓"),
                            "ok": .bool($0 % 2 == 0),
                        ]
                    }),
                "next": .null, "ratio": .double(0.25),
            ],
            "note\n": .string(String(repeating: "é\\", count: 4000)),
        ]
        let compact = try JSONShaper.shape(value.serialized(), budget: budget)
        let pretty = try JSONShaper.shape(Array(value.prettyPrinted(indent: 3).utf8), budget: budget)
        #expect(try JSONValue.parse(compact.bytes)["result"] == JSONValue.parse(pretty.bytes)["result"])
        #expect(compact.cuts == pretty.cuts)
        let items = try #require(try JSONValue.parse(compact.bytes)["result"]?["data"]?["items"]?.arrayValue)
        #expect(items.first?["name"] == .string("a \"quoted\"\tname 0 ✓"))
        #expect(items.last?["id"] == .int(2999))
    }

    /// Bytes that are not JSON where the shaper reads them are an error, never a crash or a wrong answer. (Bytes
    /// ending after a comma or a colon were read one past their end until the fuzzer found it; only AddressSanitizer
    /// sees that read, so its guard is the fuzzer's replay of the two `shaper-…` inputs in
    /// `Fuzz/Regressions/FuzzJSON/`.)
    @Test(arguments: [
        #"[1,2"#, #"{"a" 1}"#, #"["abc"#, #"{"a":[1,2}"#, "", "[1,]", "[1,", "[1, ", #"{"a":1,"#, #"{"a":"#, #"{"a": "#,
    ])
    func malformedBytesWhereTheShaperReadsAreAnError(text: String) {
        #expect(throws: JSONParseError.self) { try JSONShaper.shape(Array(text.utf8), budget: 1024) }
    }
}
