/// Shapes a JSON value that is over a byte budget into valid JSON within it, deterministically: the same value and
/// budget always give the same bytes.
///
/// A result within its budget is written as it is. One over it becomes
/// `{"truncated": {note}, "result": shaped}`, where `shaped` keeps the value's form with these cuts:
/// - a long array keeps its first and last items, with a string item between them saying how many were cut
///   (`"… 9996 items cut …"`);
/// - an object with many members keeps its first ones, and a last member `"…": "N members cut"`;
/// - a long string (or key) keeps its first bytes, cut on a character boundary, ending `…[+N bytes]`;
/// - an array or object nested past a depth is replaced by a string naming what it was
///   (`"… object of 12 members"`).
///
/// The note gives `originalBytes`, `budgetBytes`, the counts of what was cut (`itemsCut`, `membersCut`,
/// `stringsCut`, `stringBytesCut`, `valuesElided`) and the caller's own fields (where the whole result can be read).
///
/// How: a ladder of ever tighter limits (items kept per array, members per object, bytes per string, depth),
/// tried in order until the envelope fits; each try writes at most the budget before it gives up, so shaping costs
/// a few passes over at most `budget` bytes, whatever the size of the value. The last rung replaces the whole value
/// by a string that says what it was, so every budget of at least ``minimumBudget`` is met.
public enum JSONShaper {
    /// The smallest budget the shaper promises to meet (the note with the caller's fields must fit).
    public static let minimumBudget = 1024

    /// What one shaping cut.
    public struct Cuts: Sendable, Equatable {
        /// Array items left out.
        public var itemsCut = 0
        /// Object members left out.
        public var membersCut = 0
        /// Strings (values or keys) cut short.
        public var stringsCut = 0
        /// UTF-8 bytes left out of those strings.
        public var stringBytesCut = 0
        /// Arrays and objects nested too deep, each replaced by a string.
        public var valuesElided = 0

        public init() {}
    }

    /// Limits of one rung of the ladder.
    struct Limits {
        /// Items kept per array, members per object.
        var keep: Int
        /// UTF-8 bytes kept per string.
        var stringBytes: Int
        /// Depth past which containers are elided (the top-level value is depth 0).
        var depth: Int
    }

    /// The result shaped to the budget.
    /// - Parameters:
    ///   - value: the parsed result.
    ///   - originalBytes: its size as the tool wrote it.
    ///   - budget: the most bytes the answer may have; at least ``minimumBudget`` for the promise to hold.
    ///   - noteFields: the caller's fields for the note (a result id, where to read the whole); keep them short.
    /// - Returns: the shaped JSON, and what was cut.
    public static func shape(
        _ value: JSONValue, originalBytes: Int, budget: Int, noteFields: [(String, JSONValue)] = []
    ) -> (bytes: [UInt8], cuts: Cuts) {
        var out: [UInt8] = []
        out.reserveCapacity(budget)
        for limits in ladder(budget: budget) {
            var cuts = Cuts()
            out.removeAll(keepingCapacity: true)
            writeEnvelopeHead(into: &out)
            let resultStart = out.count
            guard write(value, depth: 0, limits: limits, cap: budget, into: &out, cuts: &cuts) else { continue }
            let result = out[resultStart...]
            var envelope: [UInt8] = []
            envelope.reserveCapacity(budget)
            writeEnvelope(
                note(originalBytes: originalBytes, budget: budget, cuts: cuts, fields: noteFields), result: result,
                into: &envelope)
            if envelope.count <= budget { return (envelope, cuts) }
        }
        // The last rung: the value itself becomes a string that says what it was.
        var cuts = Cuts()
        cuts.valuesElided = 1
        var result: [UInt8] = []
        JSONWriter.writeString(summary(of: value), into: &result)
        var envelope: [UInt8] = []
        writeEnvelope(
            note(originalBytes: originalBytes, budget: budget, cuts: cuts, fields: noteFields), result: result[...],
            into: &envelope)
        return (envelope, cuts)
    }

    /// The rungs, loosest first.
    static func ladder(budget: Int) -> [Limits] {
        var rungs: [Limits] = []
        for step in 0..<24 {
            let keep = max(2, 1024 >> step)
            let stringBytes = max(16, (budget / 2) >> (step / 2))
            let depth = step < 12 ? 64 : max(1, 64 >> (step - 11))
            rungs.append(Limits(keep: keep, stringBytes: stringBytes, depth: depth))
        }
        return rungs
    }

    // MARK: writing

    /// Writes `value` within `limits`; false as soon as `out` passes `cap` bytes.
    private static func write(
        _ value: JSONValue, depth: Int, limits: Limits, cap: Int, into out: inout [UInt8], cuts: inout Cuts
    ) -> Bool {
        if depth >= limits.depth, isNonEmptyContainer(value) {
            cuts.valuesElided += 1
            JSONWriter.writeString(summary(of: value), into: &out)
            return out.count <= cap
        }
        switch value {
        case .null, .bool, .int, .double:
            JSONWriter.write(value, into: &out, canonical: false)
        case .string(let text):
            writeCut(text, limit: limits.stringBytes, into: &out, cuts: &cuts)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            let kept = items.count > limits.keep
            let head = kept ? (limits.keep + 1) / 2 : items.count
            let tail = kept ? limits.keep / 2 : 0
            for index in 0..<head {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard write(items[index], depth: depth + 1, limits: limits, cap: cap, into: &out, cuts: &cuts) else {
                    return false
                }
            }
            if kept {
                let cut = items.count - head - tail
                cuts.itemsCut += cut
                out.append(UInt8(ascii: ","))
                JSONWriter.writeString("… \(cut) items cut …", into: &out)
                for index in (items.count - tail)..<items.count {
                    out.append(UInt8(ascii: ","))
                    guard write(items[index], depth: depth + 1, limits: limits, cap: cap, into: &out, cuts: &cuts)
                    else { return false }
                }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            let shown = min(object.count, limits.keep)
            for index in 0..<shown {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                let (key, member) = object[index]
                writeCut(key, limit: limits.stringBytes, into: &out, cuts: &cuts)
                out.append(UInt8(ascii: ":"))
                guard write(member, depth: depth + 1, limits: limits, cap: cap, into: &out, cuts: &cuts) else {
                    return false
                }
            }
            if shown < object.count {
                let cut = object.count - shown
                cuts.membersCut += cut
                out.append(UInt8(ascii: ","))
                JSONWriter.writeString("…", into: &out)
                out.append(UInt8(ascii: ":"))
                JSONWriter.writeString("\(cut) members cut", into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        return out.count <= cap
    }

    private static func isNonEmptyContainer(_ value: JSONValue) -> Bool {
        switch value {
        case .array(let items): !items.isEmpty
        case .object(let object): !object.isEmpty
        default: false
        }
    }

    /// Writes a string, cut to its first `limit` UTF-8 bytes (on a character boundary) with a marker when longer.
    private static func writeCut(_ text: String, limit: Int, into out: inout [UInt8], cuts: inout Cuts) {
        let utf8 = text.utf8
        guard utf8.count > limit else {
            JSONWriter.writeString(text, into: &out)
            return
        }
        var end = utf8.index(utf8.startIndex, offsetBy: limit)
        // Back to the start of a scalar: never half a character.
        while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
        let kept = utf8.distance(from: utf8.startIndex, to: end)
        let cut = utf8.count - kept
        cuts.stringsCut += 1
        cuts.stringBytesCut += cut
        JSONWriter.writeString(String(text[..<end]) + "…[+\(cut) bytes]", into: &out)
    }

    /// "… array of 12 items", "… object of 3 members", "… string of 5000 bytes", or the scalar's type.
    static func summary(of value: JSONValue) -> String {
        switch value {
        case .array(let items): "… array of \(items.count) items"
        case .object(let object): "… object of \(object.count) members"
        case .string(let text): "… string of \(text.utf8.count) bytes"
        default: "… \(value.typeName)"
        }
    }

    // MARK: the envelope

    private static let head = Array(#"{"truncated":"#.utf8)

    private static func writeEnvelopeHead(into out: inout [UInt8]) {
        // The result is written after a head as long as the envelope's, so the cap counts the envelope's bytes too;
        // the note is written into the final envelope afterwards.
        out.append(contentsOf: head)
        out.append(contentsOf: #"{},"result":"#.utf8)
    }

    private static func writeEnvelope(_ note: JSONValue, result: ArraySlice<UInt8>, into out: inout [UInt8]) {
        out.append(contentsOf: head)
        JSONWriter.write(note, into: &out, canonical: false)
        out.append(contentsOf: #","result":"#.utf8)
        out.append(contentsOf: result)
        out.append(UInt8(ascii: "}"))
    }

    private static func note(originalBytes: Int, budget: Int, cuts: Cuts, fields: [(String, JSONValue)]) -> JSONValue {
        var note: JSONObject = [
            "originalBytes": .int(Int64(originalBytes)), "budgetBytes": .int(Int64(budget)),
            "itemsCut": .int(Int64(cuts.itemsCut)), "membersCut": .int(Int64(cuts.membersCut)),
            "stringsCut": .int(Int64(cuts.stringsCut)), "stringBytesCut": .int(Int64(cuts.stringBytesCut)),
            "valuesElided": .int(Int64(cuts.valuesElided)),
        ]
        for (key, value) in fields { note.set(key, value) }
        return .object(note)
    }
}
