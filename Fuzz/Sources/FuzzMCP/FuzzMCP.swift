import Foundation
import FuzzSupport
import ToolHost
import ToolHostJSON
import ToolHostServer

/// One host for the whole run, over an empty plugins directory (calls reach the pipeline and fail there).
private let host: ToolHost = {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("toolhost-fuzz-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let host = ToolHost(configuration: .init(pluginsDirectory: directory, libraryStore: directory + "/store"))
    _ = host.reload(loadNewPlugins: true)
    return host
}()

/// The libFuzzer harness for the MCP dispatcher: one input is a session, one JSON-RPC message per line, given to a fresh
/// dispatcher in order (as a client on stdio or one HTTP session would).
///
/// Checks, beyond "does not crash or hang": every reply is a JSON-RPC 2.0 response with exactly one of `result`
/// and `error`, and an `error` has an integer code and a message.
@main
enum Harness {
    static func main() { runFuzzer(testOneInput) }
}

/// The test, also under libFuzzer's own name (whichever `main` the linker keeps runs it).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzMCP(inputBytes(data, size)) }

private func fuzzMCP(_ bytes: [UInt8]) -> CInt {
    let dispatcher = MCPDispatcher(host: host)
    for line in bytes.split(separator: UInt8(ascii: "\n")) {
        guard let message = try? JSONValue.parse(line) else { continue }
        switch dispatcher.handle(message) {
        case .reply(let reply):
            check(reply)
        case .call(let id, let call, _):
            check(runBlocking { await dispatcher.run(call, id: id) })
        case .none, .cancel:
            break
        }
    }
    return 0
}

private func check(_ reply: JSONValue) {
    guard reply["jsonrpc"] == "2.0", reply["id"] != nil else { fatalError("not a JSON-RPC 2.0 response: \(reply)") }
    switch (reply["result"], reply["error"]) {
    case (.some, nil):
        break
    case (nil, .some(let error)):
        guard error["code"]?.intValue != nil, error["message"]?.stringValue?.isEmpty == false else {
            fatalError("an error without an integer code and a message: \(reply)")
        }
    default:
        fatalError("a response needs exactly one of result and error: \(reply)")
    }
}

/// Waits on this (libFuzzer's, not a cooperative) thread for an async call.
private func runBlocking(_ body: @escaping @Sendable () async -> JSONValue) -> JSONValue {
    let done = DispatchSemaphore(value: 0)
    let box = Box()
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value
}

private final class Box: @unchecked Sendable {
    var value: JSONValue = .null
}
