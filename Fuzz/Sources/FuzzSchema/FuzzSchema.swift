import FuzzSupport
import ToolHostJSON

/// The libFuzzer harness for the JSON Schema compiler and validator.
///
/// Two input shapes, chosen by the first byte:
/// - `P` + pattern + NUL + text: the pattern is compiled as a schema's `pattern` and the text validated against
///   it (the linear-time regex engine on hostile patterns and texts);
/// - anything else: the input is a JSON document used as a schema; when it compiles, a few instances (the
///   document itself among them) are validated.
///
/// Checks, beyond "does not crash or hang": `validate` and `isValid` agree on every instance.
@main
enum Harness {
    static func main() { runFuzzer(testOneInput) }
}

/// The test, also under libFuzzer's own name (whichever `main` the linker keeps runs it).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzSchema(inputBytes(data, size)) }

private func fuzzSchema(_ bytes: [UInt8]) -> CInt {
    if bytes.first == UInt8(ascii: "P") {
        let rest = bytes.dropFirst()
        let split = rest.firstIndex(of: 0) ?? rest.endIndex
        guard let pattern = String(validating: rest[..<split], as: UTF8.self),
            let text = String(validating: rest[split...].dropFirst(), as: UTF8.self)
        else { return 0 }
        guard let schema = try? JSONSchema(["type": "string", "pattern": .string(pattern)]) else { return 0 }
        check(schema, .string(text))
        return 0
    }
    guard let document = try? JSONValue.parse(bytes), let schema = try? JSONSchema(document) else { return 0 }
    for instance: JSONValue in [document, .null, true, 0, -1.5, "", "abc", [], [1, "a"], [:], ["a": 1]] {
        check(schema, instance)
    }
    return 0
}

private func check(_ schema: JSONSchema, _ instance: JSONValue) {
    let violations = schema.validate(instance)
    let valid = schema.isValid(instance)
    guard violations.isEmpty == valid else {
        fatalError("validate (\(violations.count) violations) and isValid (\(valid)) disagree on \(instance)")
    }
}
