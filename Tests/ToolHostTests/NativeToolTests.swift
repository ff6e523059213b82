import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// Typed native tools: plain C functions called through libffi from signatures, with no JSON handler.
@Suite struct NativeToolTests {
    static let typedTools: [(String, String, String?)] = [
        ("echo_int8", "int8 (int8 x)", nil), ("echo_int16", "int16 (int16 x)", nil),
        ("echo_int32", "int32 (int32 x)", nil), ("echo_int64", "int64 (int64 x)", nil),
        ("echo_uint8", "uint8 (uint8 x)", nil), ("echo_uint16", "uint16 (uint16 x)", nil),
        ("echo_uint32", "uint32 (uint32 x)", nil), ("echo_uint64", "uint64 (uint64 x)", nil),
        ("echo_float", "float (float x)", nil), ("echo_double", "double (double x)", nil),
        ("echo_bool", "bool (bool x)", nil), ("negate", "bool (bool x)", nil),
        ("divide", "double (double a, double b)", nil), ("echo_string", "string (string s)", nil),
        ("null_string", "string ()", nil),
        ("mixed", "double (int8 a, uint16 b, int32 c, int64 d, float e, double f, bool g, uint64 h)", nil),
        ("buffer_stats", "uint64 (buffer data)", nil), ("upper", "string (string s)", "typed_free"),
        ("free_count", "int32 ()", nil), ("touch", "void ()", nil), ("touches", "int32 ()", nil),
    ]

    static func manifest(tools: [(String, String, String?)] = typedTools, extra: [JSONValue] = []) -> JSONValue {
        var list: [JSONValue] = tools.map { name, signature, release in
            var tool: JSONObject = [
                "name": .string(name), "description": "typed \(name)", "signature": .string(signature),
                "symbol": .string(name), "threadSafe": true,
            ]
            if let release { tool.set("freeReturn", .string(release)) }
            return .object(tool)
        }
        list.append(contentsOf: extra)
        return [
            "name": "typed", "version": "1.0.0", "abi": ["major": 1, "minor": 1], "library": ["file": "libtyped.so"],
            "tools": .array(list),
        ]
    }

    private func host(
        manifest: JSONValue = manifest(), configure: (inout ToolHost.Configuration) -> Void = { _ in }
    ) async throws -> ToolHost {
        let plugins = Fixtures.temporaryDirectory("toolhost-typed")
        let library = try await Fixtures.compile("typed.c", defines: ["TYPED_INSTANCE=\(UUID().uuidString.prefix(8))"])
        try Fixtures.install(
            in: plugins, folder: "typed", manifest: manifest, libraryFrom: library, libraryName: "libtyped.so")
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("store"))
        configure(&configuration)
        return ToolHost(configuration: configuration)
    }

    private func result(_ host: ToolHost, _ tool: String, _ arguments: JSONValue) async -> Result<String, ToolError> {
        switch await host.call(ToolCall(tool: "typed." + tool, arguments: arguments)) {
        case .success(let result): .success(result.text)
        case .failure(let error): .failure(error)
        }
    }

    private func expectInvalid(_ outcome: Result<String, ToolError>, naming parameter: String) {
        guard case .failure(let error) = outcome else {
            Issue.record("expected invalid_arguments, got \(outcome)")
            return
        }
        #expect(error.code == .invalidArguments)
        #expect(error.message.contains(parameter), "\(error.message)")
    }

    @Test func integerLimitsPassAndOverflowIsRefused() async throws {
        let host = try await host()
        let cases: [(String, Int64, Int64)] = [
            ("int8", -128, 127), ("int16", -32768, 32767), ("int32", -2_147_483_648, 2_147_483_647),
            ("uint8", 0, 255), ("uint16", 0, 65535), ("uint32", 0, 4_294_967_295),
        ]
        for (type, low, high) in cases {
            #expect(try await result(host, "echo_" + type, ["x": .int(low)]).get() == "{\"result\":\(low)}")
            #expect(try await result(host, "echo_" + type, ["x": .int(high)]).get() == "{\"result\":\(high)}")
            expectInvalid(await result(host, "echo_" + type, ["x": .int(high + 1)]), naming: "/x")
            expectInvalid(await result(host, "echo_" + type, ["x": .int(low - 1)]), naming: "/x")
        }
        #expect(try await result(host, "echo_int64", ["x": .int(.min)]).get() == "{\"result\":\(Int64.min)}")
        #expect(try await result(host, "echo_int64", ["x": .int(.max)]).get() == "{\"result\":\(Int64.max)}")
        // Past Int64, JSON numbers arrive as doubles; 2^63 is exact and fits a uint64.
        #expect(
            try await result(host, "echo_uint64", ["x": .double(9_223_372_036_854_775_808)]).get()
                == "{\"result\":9223372036854775808}")
        expectInvalid(await result(host, "echo_uint64", ["x": .double(18_446_744_073_709_551_616)]), naming: "x")
        expectInvalid(await result(host, "echo_uint64", ["x": -1]), naming: "/x")
    }

    @Test func fractionsAndWrongTypesAreRefusedNotTruncated() async throws {
        let host = try await host()
        expectInvalid(await result(host, "echo_int32", ["x": 1.5]), naming: "/x")
        expectInvalid(await result(host, "echo_int32", ["x": "3"]), naming: "/x")
        expectInvalid(await result(host, "echo_bool", ["x": 1]), naming: "/x")
        expectInvalid(await result(host, "echo_int8", [:]), naming: "x")
        expectInvalid(await result(host, "echo_int8", ["x": 1, "y": 2]), naming: "y")
        // 2.0 is an integer in JSON Schema, and converts exactly.
        #expect(try await result(host, "echo_int32", ["x": 2.0]).get() == "{\"result\":2}")
    }

    @Test func floatsDoublesAndNonFiniteResults() async throws {
        let host = try await host()
        #expect(try await result(host, "echo_float", ["x": 0.5]).get() == "{\"result\":0.5}")
        #expect(try await result(host, "echo_double", ["x": 1e300]).get() == "{\"result\":1e300}")
        expectInvalid(await result(host, "echo_float", ["x": 1e39]), naming: "x")
        #expect(try await result(host, "divide", ["a": 0, "b": 0]).get() == #"{"result":null,"nonFinite":"nan"}"#)
        #expect(try await result(host, "divide", ["a": 1, "b": 0]).get() == #"{"result":null,"nonFinite":"inf"}"#)
        #expect(try await result(host, "divide", ["a": -1, "b": 0]).get() == #"{"result":null,"nonFinite":"-inf"}"#)
        #expect(try await result(host, "divide", ["a": 1, "b": 4]).get() == #"{"result":0.25}"#)
    }

    @Test func boolsAndMixedArgumentsLandInTheRightPlaces() async throws {
        let host = try await host()
        #expect(try await result(host, "negate", ["x": true]).get() == #"{"result":false}"#)
        #expect(try await result(host, "echo_bool", ["x": true]).get() == #"{"result":true}"#)
        let mixed = try await result(
            host, "mixed", ["a": -1, "b": 2, "c": 3, "d": 4, "e": 0.25, "f": 0.125, "g": true, "h": 5]
        ).get()
        // -1 + 20 + 300 + 4000 + 0.25 + 0.125 + 0.5 + 5e6
        #expect(try JSONValue.parse(mixed)["result"]?.doubleValue == 5_004_319.875)
    }

    @Test func stringsRoundTripAndNULIsRefused() async throws {
        let host = try await host()
        #expect(try await result(host, "echo_string", ["s": ""]).get() == #"{"result":""}"#)
        let text = "Grüße, 世界 🎉 \"quoted\"\n"
        let echoed = try await result(host, "echo_string", ["s": .string(text)]).get()
        #expect(try JSONValue.parse(echoed) == ["result": .string(text)])
        expectInvalid(await result(host, "echo_string", ["s": "a\u{0}b"]), naming: "NUL")
        #expect(try await result(host, "null_string", [:]).get() == #"{"result":null}"#)
    }

    @Test func returnedStringsAreFreedWithTheDeclaredFunction() async throws {
        let host = try await host()
        #expect(try await result(host, "upper", ["s": "abc"]).get() == #"{"result":"ABC"}"#)
        #expect(try await result(host, "upper", ["s": "xyz"]).get() == #"{"result":"XYZ"}"#)
        #expect(try await result(host, "free_count", [:]).get() == #"{"result":2}"#)
        #expect(try await result(host, "touch", [:]).get() == #"{"result":null}"#)
        #expect(try await result(host, "touches", [:]).get() == #"{"result":1}"#)
    }

    @Test func buffersArriveAsPointerAndLength() async throws {
        let host = try await host()
        #expect(try await result(host, "buffer_stats", ["data": ""]).get() == #"{"result":0}"#)
        // "hé" is 3 bytes: 0x68 + 0xC3 + 0xA9 = 468.
        #expect(try await result(host, "buffer_stats", ["data": "hé"]).get() == "{\"result\":\((3 << 32) | 468)}")
    }

    @Test func base64BuffersAreDecodedAndCheckedByZlib() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-zlib")
        try FileManager.default.createDirectory(atPath: plugins + "/zlib", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Fixtures.root + "/Plugins/zlib/manifest.json", toPath: plugins + "/zlib/manifest.json")
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        #expect(
            try await host.call("zlib.crc32", arguments: ["crc": 0, "data": "hello"]).json == ["result": 907_060_870])
        #expect(
            try await host.call("zlib.crc32_base64", arguments: ["crc": 0, "data": "aGVsbG8="]).json
                == ["result": 907_060_870])
        #expect(try await host.call("zlib.adler32", arguments: ["adler": 1, "data": ""]).json == ["result": 1])
        let bad = await host.call(ToolCall(tool: "zlib.crc32_base64", arguments: ["crc": 0, "data": "***"]))
        if case .failure(let error) = bad {
            #expect(error.code == .invalidArguments && error.message.contains("base64"))
        } else {
            Issue.record("expected invalid base64 to be refused")
        }
    }

    @Test func bundledMathlibCallsLibm() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-mathlib")
        try FileManager.default.createDirectory(atPath: plugins + "/mathlib", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Fixtures.root + "/Plugins/mathlib/manifest.json", toPath: plugins + "/mathlib/manifest.json")
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        #expect(try await host.call("mathlib.hypot", arguments: ["x": 3, "y": 4]).json == ["result": 5])
        let cube = try await host.call("mathlib.cbrt", arguments: ["x": -27]).json["result"]?.doubleValue ?? 0
        #expect(abs(cube + 3) < 1e-12)
        #expect(try await host.call("mathlib.erf", arguments: ["x": 0]).json == ["result": 0])
        #expect(
            try await host.call("mathlib.lgamma", arguments: ["x": 0]).json == ["result": nil, "nonFinite": "inf"])
        // The sign of a zero reaches the C function: atan2(0, -0.0) is π, atan2(0, 0) is 0.
        let signed = try await host.call("mathlib.atan2", arguments: JSONValue.parse(#"{"y": 0, "x": -0.0}"#))
        #expect(signed.json["result"]?.doubleValue == Double.pi)
        #expect(try await host.call("mathlib.atan2", arguments: ["y": 0, "x": 0]).json == ["result": 0])
        let schema = try #require(host.tools().first { $0.name == "mathlib.atan2" }?.manifest.inputSchema)
        #expect(schema["required"] == ["y", "x"])
        #expect(schema["additionalProperties"] == false)
    }

    @Test func generatedSchemasCarryTheCRanges() async throws {
        let host = try await host()
        let tools = Dictionary(uniqueKeysWithValues: host.tools().map { ($0.name, $0.manifest.inputSchema) })
        #expect(tools["typed.echo_int8"]?["properties"]?["x"]?["minimum"] == -128)
        #expect(tools["typed.echo_int8"]?["properties"]?["x"]?["maximum"] == 127)
        #expect(tools["typed.echo_uint32"]?["properties"]?["x"]?["maximum"] == 4_294_967_295)
        #expect(tools["typed.echo_uint64"]?["properties"]?["x"]?["minimum"] == 0)
        #expect(tools["typed.echo_bool"]?["properties"]?["x"]?["type"] == "boolean")
        #expect(tools["typed.buffer_stats"]?["properties"]?["data"]?["type"] == "string")
        #expect(tools["typed.touch"]?["required"] == [])
    }

    @Test func systemLibrariesOutsideTheAllowlistAreRefused() async throws {
        let manifest: JSONValue = [
            "name": "libc", "version": "1", "abi": ["major": 1, "minor": 1], "library": ["system": "libc.so.6"],
            "tools": [["name": "abs", "description": "abs", "signature": "int32 (int32 x)", "symbol": "abs"]],
        ]
        let plugins = Fixtures.temporaryDirectory("toolhost-libc")
        try Fixtures.install(in: plugins, folder: "libc", manifest: manifest, libraryFrom: nil)
        let refused = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()))
        let outcome = await refused.call(ToolCall(tool: "libc.abs", arguments: ["x": -3]))
        guard case .failure(let error) = outcome else {
            Issue.record("libc must not be reachable by default")
            return
        }
        #expect(error.code == .pluginUnavailable && error.message.contains("allowlist"))
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory())
        configuration.allowedSystemLibraries.insert("libc.so.6")
        let allowed = ToolHost(configuration: configuration)
        #expect(try await allowed.call("libc.abs", arguments: ["x": -3]).json == ["result": 3])
    }

    @Test func aMissingSymbolIsNamed() async throws {
        let host = try await host(manifest: Self.manifest(tools: [("echo_int9", "int8 (int8 x)", nil)]))
        let outcome = await host.call(ToolCall(tool: "typed.echo_int9", arguments: ["x": 1]))
        guard case .failure(let error) = outcome else {
            Issue.record("expected the load to fail")
            return
        }
        #expect(error.message.contains("symbol 'echo_int9'"))
    }

    @Test(arguments: [
        ("doubel (double x)", "unknown type 'doubel'"),
        ("double (void x)", "cannot be void"),
        ("buffer (double x)", "cannot be returned"),
        ("double (double)", "a type and a name"),
        ("double (double x, double x)", "appears twice"),
        ("double x", "not of the form"),
    ])
    func signatureMistakesAreExplained(signature: String, problem: String) throws {
        #expect(throws: NativeSignature.ParseError.self) { try NativeSignature(parsing: signature) }
        do {
            _ = try NativeSignature(parsing: signature)
        } catch {
            #expect(error.description.contains(problem), "\(error)")
        }
    }

    @Test func signaturesRoundTrip() throws {
        let signature = try NativeSignature(parsing: "  uint64(uint64 crc ,  buffer data ) ")
        #expect(signature.description == "uint64 (uint64 crc, buffer data)")
        #expect(try NativeSignature(parsing: signature.description) == signature)
        #expect(try NativeSignature(parsing: "void (void)").parameters.isEmpty)
    }

    @Test func manifestRulesForTypedTools() {
        func problems(_ tool: JSONValue) -> [String] {
            let manifest: JSONValue = [
                "name": "x", "version": "1", "abi": ["major": 1, "minor": 1], "library": ["file": "libx.so"],
                "tools": [tool],
            ]
            do {
                _ = try PluginManifest.parse(manifest.serialized(), file: "m")
                return []
            } catch {
                return error.problems.map(\.description)
            }
        }
        #expect(problems(["name": "t", "description": "d"]).contains { $0.contains("neither an inputSchema") })
        #expect(
            problems(["name": "t", "description": "d", "signature": "int8 (int8 x)", "inputSchema": ["type": "object"]])
                .contains { $0.contains("must not declare an inputSchema") })
        #expect(
            problems(["name": "t", "description": "d", "signature": "int8 (int8 x)", "freeReturn": "free"])
                .contains { $0.contains("does not return a string") })
        #expect(
            problems(["name": "t", "description": "d", "signature": "int9 (int8 x)"])
                .contains { $0.contains("unknown type 'int9'") })
        #expect(
            problems(["name": "t", "description": "d", "inputSchema": ["type": "object"], "symbol": "f"])
                .contains { $0.contains("needs a \"signature\"") })
    }
}
