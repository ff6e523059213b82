import Testing
import ToolHost
import ToolHostJSON
import ToolHostServer

/// The one rule set for calls that every front end reads (`toolhost batch`, `POST /v1/batch`).
@Suite struct WireTests {
    @Test func aCallObjectIsRead() throws {
        let call = try ToolCall(
            wire: try JSONValue.parse(#"{"tool":"p.t","arguments":{"a":1},"priority":-1000,"timeoutMs":86400000}"#))
        #expect(call.tool == "p.t")
        #expect(call.arguments == ["a": 1])
        #expect(call.priority == -1000)
        #expect(call.timeout == .milliseconds(86_400_000))
        let bare = try ToolCall(wire: ["tool": "p.t"])
        #expect(bare.arguments == [:] && bare.priority == nil && bare.timeout == nil)
    }

    @Test(arguments: [
        (#"{"tool":"p.t","timeoutMs":9223372036855}"#, "timeoutMs must be an integer in 1...86400000 (milliseconds)"),
        (#"{"tool":"p.t","timeoutMs":0}"#, "timeoutMs must be an integer in 1...86400000"),
        (#"{"tool":"p.t","timeoutMs":1.5}"#, "timeoutMs must be an integer in 1...86400000"),
        (#"{"tool":"p.t","timeoutMs":"10"}"#, "timeoutMs must be an integer in 1...86400000"),
        (#"{"tool":"p.t","timeoutMs":1e300}"#, "timeoutMs must be an integer in 1...86400000"),
        (#"{"tool":"p.t","priority":-1001}"#, "priority must be an integer in -1000...1000"),
        (#"{"tool":"p.t","extra":1}"#, "unknown field \"extra\""),
        (#"{"arguments":{}}"#, "a call needs \"tool\""),
        (#"{"tool":"p.t","arguments":[]}"#, "\"arguments\" must be a JSON object"),
        ("[]", "a call must be a JSON object"),
    ])
    func aBadCallIsRefusedNamingTheField(text: String, message: String) throws {
        #expect {
            try ToolCall(wire: try JSONValue.parse(text))
        } throws: { error in
            guard let error = error as? ToolError else { return false }
            return error.code == .invalidArguments && error.message.hasPrefix(message)
        }
    }

    @Test func textNumbersFollowTheSameRule() throws {
        #expect(try ToolCall.timeout(text: "250", field: "f") == .milliseconds(250))
        #expect(try ToolCall.priority(text: "-7", field: "f") == -7)
        for text in ["", "abc", "0", "-1", "86400001", "9223372036855", "99999999999999999999999"] {
            #expect(throws: ToolError.self, "\(text)") { try ToolCall.timeout(text: text, field: "f") }
        }
        #expect(throws: ToolError.self) { try ToolCall.priority(text: "1001", field: "f") }
    }
}
