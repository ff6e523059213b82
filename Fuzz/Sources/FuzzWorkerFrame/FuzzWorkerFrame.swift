import FuzzSupport
import ToolHost

/// The libFuzzer harness for the host ↔ worker framing: one input is one frame payload (without its length prefix),
/// as a hostile or broken worker (or host) could send it.
///
/// Checks, beyond "does not crash": a payload that decodes re-encodes to a frame whose length prefix is right and
/// which decodes to an equal frame.
@main
enum Harness {
    static func main() { runFuzzer(testOneInput) }
}

/// The test, also under libFuzzer's own name (whichever `main` the linker keeps runs it).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzWorkerFrame(inputBytes(data, size)) }

private func fuzzWorkerFrame(_ payload: [UInt8]) -> CInt {
    guard let frame = WorkerFrame(payload: payload[...]) else { return 0 }
    let encoded = frame.encoded()
    guard encoded.count >= 4 else { fatalError("an encoded frame has no length prefix") }
    let length = encoded[0..<4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    guard length == encoded.count - 4 else {
        fatalError("the length prefix says \(length), the payload is \(encoded.count - 4)")
    }
    guard let again = WorkerFrame(payload: encoded[4...]) else { fatalError("a re-encoded frame does not decode") }
    guard again == frame else { fatalError("a re-encoded frame decodes to a different frame") }
    return 0
}
