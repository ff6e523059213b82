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
/// a few passes over at most `budget` bytes, whatever the size of the value. The value is read from its bytes
/// where it is written, never parsed whole (``Reader``). The last rung replaces the whole value by a string that
/// says what it was, so every budget of at least ``minimumBudget`` is met.
public enum JSONShaper {
    /// The smallest budget the shaper promises to meet (the note with the caller's fields must fit).
    public static let minimumBudget = 1024

    /// The most items kept per array (and members per object), on the loosest rung.
    static let maxKept = 1024

    /// The deepest level written, on the loosest rung; containers below it are elided.
    static let maxDepth = 64

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

    /// A JSON text shaped to a budget.
    /// - Parameters:
    ///   - json: one valid JSON value, as a tool's result is (see ``Reader`` for what is and is not checked).
    ///   - budget: the most bytes the answer may have; at least ``minimumBudget`` for the promise to hold.
    ///   - noteFields: the caller's fields for the note (a result id, where to read the whole); keep them short.
    /// - Returns: the shaped JSON, and what was cut.
    /// - Throws: ``JSONParseError`` where the bytes the shaper reads are not JSON.
    public static func shape(
        _ json: [UInt8], budget: Int, noteFields: [(String, JSONValue)] = []
    ) throws(JSONParseError) -> (bytes: [UInt8], cuts: Cuts) {
        let shaped: Result<(bytes: [UInt8], cuts: Cuts), JSONParseError> = json.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) in
                let reader = Reader(raw)
                return try shape(reader, budget: budget, noteFields: noteFields)
            }
        }
        return try shaped.get()
    }

    private static func shape(
        _ reader: Reader, budget: Int, noteFields: [(String, JSONValue)]
    ) throws(JSONParseError) -> (bytes: [UInt8], cuts: Cuts) {
        let root = reader.root()
        var out: [UInt8] = []
        out.reserveCapacity(budget)
        for limits in ladder(budget: budget) {
            var cuts = Cuts()
            out.removeAll(keepingCapacity: true)
            writeEnvelopeHead(into: &out)
            let resultStart = out.count
            let context = Context(limits: limits, cap: budget)
            guard try write(at: root, depth: 0, context, reader, into: &out, cuts: &cuts) else { continue }
            let result = out[resultStart...]
            var envelope: [UInt8] = []
            envelope.reserveCapacity(budget)
            writeEnvelope(
                note(originalBytes: reader.count, budget: budget, cuts: cuts, fields: noteFields), result: result,
                into: &envelope)
            if envelope.count <= budget { return (envelope, cuts) }
        }
        // The last rung: the value itself becomes a string that says what it was.
        var cuts = Cuts()
        cuts.valuesElided = 1
        var result: [UInt8] = []
        JSONWriter.writeString(try summary(at: root, depth: 0, reader), into: &result)
        var envelope: [UInt8] = []
        writeEnvelope(
            note(originalBytes: reader.count, budget: budget, cuts: cuts, fields: noteFields), result: result[...],
            into: &envelope)
        return (envelope, cuts)
    }

    /// The rungs, loosest first.
    static func ladder(budget: Int) -> [Limits] {
        var rungs: [Limits] = []
        for step in 0..<24 {
            let keep = max(2, maxKept >> step)
            let stringBytes = max(16, (budget / 2) >> (step / 2))
            let depth = step < 12 ? maxDepth : max(1, maxDepth >> (step - 11))
            rungs.append(Limits(keep: keep, stringBytes: stringBytes, depth: depth))
        }
        return rungs
    }

    // MARK: writing

    /// One rung's limits, and the most bytes it may write.
    private struct Context {
        var limits: Limits
        var cap: Int
    }

    /// Writes the value at `offset` within the rung's limits; false as soon as `out` passes the cap.
    private static func write(
        at offset: Int, depth: Int, _ context: Context, _ reader: Reader, into out: inout [UInt8],
        cuts: inout Cuts
    ) throws(JSONParseError) -> Bool {
        let limits = context.limits
        let kind = try reader.kind(at: offset)
        let isContainer = kind == UInt8(ascii: "[") || kind == UInt8(ascii: "{")
        if depth >= limits.depth, isContainer, try reader.container(at: offset, depth: depth).count > 0 {
            cuts.valuesElided += 1
            JSONWriter.writeString(try summary(at: offset, depth: depth, reader), into: &out)
            return out.count <= context.cap
        }
        switch kind {
        case UInt8(ascii: "["):
            let items = try reader.container(at: offset, depth: depth)
            out.append(UInt8(ascii: "["))
            let kept = items.count > limits.keep
            let head = kept ? (limits.keep + 1) / 2 : items.count
            let tail = kept ? limits.keep / 2 : 0
            for index in 0..<head {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard try write(at: items.item(index), depth: depth + 1, context, reader, into: &out, cuts: &cuts)
                else { return false }
            }
            if kept {
                let cut = items.count - head - tail
                cuts.itemsCut += cut
                out.append(UInt8(ascii: ","))
                JSONWriter.writeString("… \(cut) items cut …", into: &out)
                for index in (items.count - tail)..<items.count {
                    out.append(UInt8(ascii: ","))
                    guard try write(at: items.item(index), depth: depth + 1, context, reader, into: &out, cuts: &cuts)
                    else { return false }
                }
            }
            out.append(UInt8(ascii: "]"))
        case UInt8(ascii: "{"):
            let object = try reader.container(at: offset, depth: depth)
            out.append(UInt8(ascii: "{"))
            let shown = min(object.count, limits.keep)
            for index in 0..<shown {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try writeCut(stringAt: object.head[index], limit: limits.stringBytes, reader, into: &out, cuts: &cuts)
                out.append(UInt8(ascii: ":"))
                guard
                    try write(at: object.values[index], depth: depth + 1, context, reader, into: &out, cuts: &cuts)
                else { return false }
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
        case UInt8(ascii: "\""):
            try writeCut(stringAt: offset, limit: limits.stringBytes, reader, into: &out, cuts: &cuts)
        default:
            JSONWriter.write(try reader.scalar(at: offset), into: &out, canonical: false)
        }
        return out.count <= context.cap
    }

    /// Writes the string at `offset`, cut to its first `limit` UTF-8 bytes (on a character boundary) with a marker
    /// when longer. A string without escapes is copied from the text as it is (its UTF-8 needs no escaping).
    private static func writeCut(
        stringAt offset: Int, limit: Int, _ reader: Reader, into out: inout [UInt8], cuts: inout Cuts
    ) throws(JSONParseError) {
        guard let utf8 = try reader.unescapedString(at: offset) else {
            guard case .string(let text) = try reader.scalar(at: offset) else { return }
            writeCut(text, limit: limit, into: &out, cuts: &cuts)
            return
        }
        out.append(UInt8(ascii: "\""))
        guard utf8.count > limit else {
            out.append(contentsOf: utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        var end = limit
        // Back to the start of a scalar: never half a character.
        while end > 0, utf8[end] & 0xC0 == 0x80 { end -= 1 }
        cuts.stringsCut += 1
        cuts.stringBytesCut += utf8.count - end
        out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[..<end]))
        out.append(contentsOf: "…[+\(utf8.count - end) bytes]".utf8)
        out.append(UInt8(ascii: "\""))
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
    private static func summary(at offset: Int, depth: Int, _ reader: Reader) throws(JSONParseError) -> String {
        switch try reader.kind(at: offset) {
        case UInt8(ascii: "["): return "… array of \(try reader.container(at: offset, depth: depth).count) items"
        case UInt8(ascii: "{"): return "… object of \(try reader.container(at: offset, depth: depth).count) members"
        case UInt8(ascii: "\""):
            if let utf8 = try reader.unescapedString(at: offset) { return "… string of \(utf8.count) bytes" }
            return "… string of \(try reader.scalar(at: offset).stringValue?.utf8.count ?? 0) bytes"
        default: return "… \(try reader.scalar(at: offset).typeName)"
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
