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
            let (bytes, _) = JSONShaper.shape(
                value, originalBytes: original.count, budget: budget, noteFields: fields)
            #expect(bytes.count <= budget, "seed \(seed): \(bytes.count) bytes over a budget of \(budget)")
            let parsed = try JSONValue.parse(bytes)
            #expect(parsed["truncated"]?["originalBytes"] == .int(Int64(original.count)), "seed \(seed)")
            #expect(parsed["truncated"]?["budgetBytes"] == .int(Int64(budget)), "seed \(seed)")
            #expect(parsed["result"] != nil, "seed \(seed)")
            let again = JSONShaper.shape(value, originalBytes: original.count, budget: budget, noteFields: fields)
            #expect(again.bytes == bytes, "seed \(seed): not deterministic")
        }
        #expect(shaped >= 5, "the batch should exercise shaping, not only values under budget")
    }

    /// A long array keeps its first and last items around a marker that counts the cut; the note counts them too.
    @Test func aLongArrayKeepsItsEndsAndSaysHowManyWereCut() throws {
        let value = JSONValue.array((0..<10_000).map { .int(Int64($0)) })
        let (bytes, cuts) = JSONShaper.shape(value, originalBytes: value.serialized().count, budget: 2048)
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
        let (bytes, cuts) = JSONShaper.shape(.string(text), originalBytes: text.utf8.count + 2, budget: 1024)
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
        let (bytes, cuts) = JSONShaper.shape(value, originalBytes: value.serialized().count, budget: 1024)
        #expect(bytes.count <= 1024)
        #expect(cuts.valuesElided >= 1)
        #expect(String(decoding: bytes, as: UTF8.self).contains("… object of 2 members"))
    }
}
