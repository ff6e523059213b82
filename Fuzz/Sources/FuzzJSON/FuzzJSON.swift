import FuzzSupport
import ToolHostJSON

/// The libFuzzer harness: one input is one JSON text.
///
/// Checks, beyond "does not crash or hang": the parser and the validating scanner agree on every input
/// (accept, or reject with the same code at the same offset); an accepted value's canonical form parses back to
/// an equal value whose canonical form is byte-identical; the compact and pretty writers' output parses back to
/// an equal value. The result shaper (which reads bytes without parsing them whole) never crashes or reads out of
/// bounds on any input; on valid JSON its answer parses, fits the budget, and does not depend on whitespace.
@main
enum Harness {
    static func main() { runFuzzer(testOneInput) }
}

/// The test, also under libFuzzer's own name (whichever `main` the linker keeps runs it).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzJSON(inputBytes(data, size)) }

private func fuzzJSON(_ bytes: [UInt8]) -> CInt {
    let parsed = Result { () throws(JSONParseError) in try JSONValue.parse(bytes) }
    let scanned = Result { () throws(JSONParseError) in try JSONValue.validate(utf8: bytes) }
    switch (parsed, scanned) {
    case (.success(let value), .success):
        let canonical = value.canonical()
        guard let again = try? JSONValue.parse(canonical) else {
            fatalError("the canonical form does not parse: \(String(decoding: canonical, as: UTF8.self))")
        }
        guard again == value else { fatalError("the canonical form parses to a different value") }
        guard again.canonical() == canonical else { fatalError("the canonical form is not stable") }
        guard (try? JSONValue.parse(value.serialized())) == value else {
            fatalError("the compact form does not parse back to the value")
        }
        guard (try? JSONValue.parse(value.prettyPrinted())) == value else {
            fatalError("the pretty form does not parse back to the value")
        }
        checkShaping(bytes, value)
    case (.failure(let parseError), .failure(let scanError)):
        guard parseError.code == scanError.code, parseError.offset == scanError.offset else {
            fatalError("parse and validate disagree: \(parseError) vs \(scanError)")
        }
        // Not JSON: the shaper may throw or answer, but must not crash or read past the bytes.
        _ = try? JSONShaper.shape(bytes, budget: JSONShaper.minimumBudget)
    case (.success, .failure(let error)):
        fatalError("parse accepted what validate refused: \(error)")
    case (.failure(let error), .success):
        fatalError("validate accepted what parse refused: \(error)")
    }
    return 0
}

/// Shaping valid JSON to the smallest budget: an answer that parses and fits, whose shaped value is the same from the
/// bytes as given and from the compact form padded to the same size (the note counts the original bytes, so sizes
/// must match for the same rung of the ladder to fit).
private func checkShaping(_ bytes: [UInt8], _ value: JSONValue) {
    let budget = JSONShaper.minimumBudget
    guard let given = try? JSONShaper.shape(bytes, budget: budget) else { fatalError("shaping valid JSON threw") }
    guard given.bytes.count <= budget else { fatalError("the shaped answer is over its budget") }
    guard let answer = try? JSONValue.parse(given.bytes) else { fatalError("the shaped answer does not parse") }
    var compact = value.serialized()
    // A number written longer than given (`1e2` is written `100.0`) cannot be padded to the same size.
    guard compact.count <= bytes.count else { return }
    compact += repeatElement(UInt8(ascii: " "), count: bytes.count - compact.count)
    guard let shaped = try? JSONShaper.shape(compact, budget: budget),
        (try? JSONValue.parse(shaped.bytes))?["result"] == answer["result"], shaped.cuts == given.cuts
    else { fatalError("the shaped value depends on the whitespace of the bytes") }
}
