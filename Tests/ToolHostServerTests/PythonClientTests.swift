import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

/// The official MCP Python SDK's client against the real daemon, over Streamable HTTP and over stdio
/// (`Python/mcp_client.py`): it initializes as `python-agent`, lists, calls, and its calls are counted under that
/// name. `.ci/run` installs the SDK (PyPI) into `.build/python-mcp` and names its interpreter in
/// `TOOLHOST_TEST_PYTHON`; where neither is there the tests are skipped, saying so.
@Suite struct PythonClientTests {
    typealias Server = RESTTests.Server

    /// The interpreter with the `mcp` package: `TOOLHOST_TEST_PYTHON` when set (then it must work), else the venv
    /// `.ci/run` makes.
    static let python: String? = {
        if let given = ProcessInfo.processInfo.environment["TOOLHOST_TEST_PYTHON"], !given.isEmpty { return given }
        let venv = Fixtures.root + "/.build/python-mcp/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }()

    static let script = Fixtures.root + "/Tests/ToolHostServerTests/Python/mcp_client.py"

    /// Runs the client and parses the one JSON line it prints.
    static func runClient(_ arguments: [String]) async throws -> JSONValue {
        let python = try #require(python)
        let result = try await Fixtures.run(python, [script] + arguments)
        guard result.status == 0, let line = result.stdout.split(separator: "\n").last else {
            throw ServerFixtureError("the Python client failed (status \(result.status)): \(result.stderr)")
        }
        return try JSONValue.parse(String(line))
    }

    static func expectTheClientWasServed(_ seen: JSONValue) throws {
        #expect(seen["server"] == "toolhost")
        #expect(seen["protocol"] == "2025-06-18", "the newest version both sides speak")
        let tools = seen["tools"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(tools == (try ServerFixtures.probeToolNames()).map { "probe." + $0 }.sorted())
        #expect(seen["echo"] == ["from": "python"])
        #expect(seen["echoIsError"] == false)
        #expect(seen["failIsError"] == true, "a tool's failure is a result the model reads, not a protocol error")
        // The client's progress callback fired, with the tool's numbers and message, before the result.
        #expect(seen["progressResult"] == ["reported": 5, "refused": 0])
        let reports = seen["progress"]?.arrayValue ?? []
        #expect(reports.last == ["progress": 5, "total": 5, "message": "step 5"], "\(reports)")
        // A result over its budget: the text fits it, and the client read the whole from the resource link.
        #expect(seen["budgetedLinks"] == 1)
        #expect((seen["budgetedTextBytes"]?.intValue ?? .max) <= 1024, "\(seen["budgetedTextBytes"] ?? .null)")
        #expect(seen["wholeResult"] == true)
    }

    @Test(.enabled(if: python != nil, "the MCP Python SDK is not installed (.ci/run installs it)"))
    func thePythonClientOverHTTPIsCountedUnderItsName() async throws {
        let server = try await Server()
        do {
            try Self.expectTheClientWasServed(
                try await Self.runClient(["http", "http://127.0.0.1:\(server.port)/mcp"]))
            let answer = try await server.request("GET", "/v1/agents")
            let agent = answer.body?["agents"]?.arrayValue?.first { $0["agent"] == "python-agent" }
            // probe.echo, probe.fail, probe.progress and the budgeted probe.echo.
            #expect(agent?["calls"] == 4, "\(String(describing: answer.body))")
            #expect(agent?["errors"] == ["plugin_error": 1])
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test(.enabled(if: python != nil, "the MCP Python SDK is not installed (.ci/run installs it)"))
    func thePythonClientOverStdio() async throws {
        try Self.expectTheClientWasServed(
            try await Self.runClient(["stdio", ServerFixtures.binary, try ServerFixtures.probePlugins()]))
    }
}
