import FuzzSupport
import ToolHost
import ToolHostJSON

/// The libFuzzer harness for the manifest reader: one input is one `manifest.json` text, as a plugin author (or an
/// attacker who can write to the plugins directory) could ship it.
///
/// Checks, beyond "does not crash or hang": a refusal always names at least one problem, each with a message.
@main
enum Harness {
    static func main() { runFuzzer(testOneInput) }
}

/// The test, also under libFuzzer's own name (whichever `main` the linker keeps runs it).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzManifest(inputBytes(data, size)) }

private func fuzzManifest(_ bytes: [UInt8]) -> CInt {
    do {
        _ = try PluginManifest.parse(bytes, file: "fuzz/manifest.json")
    } catch {
        guard !error.problems.isEmpty, error.problems.allSatisfy({ !$0.message.isEmpty }) else {
            fatalError("a refused manifest names no problem: \(error)")
        }
    }
    return 0
}
