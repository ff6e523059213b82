import CToolHostJSONTesting
import Foundation
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

/// The plugin SDK's C JSON helpers (plugin-sdk/include/toolhost/toolhost_json.h) against the host's own JSON:
/// seeded random values written by the canonical writer are read back equal by the C readers, and strings escaped
/// by the C escaper parse to the same string (and are the canonical writer's bytes).
struct JSONHelperTests {
    /// SplitMix64: a seeded generator, so a failure is reproducible from the seed in its message.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Scalars that exercise every path of an escaper and a decoder: controls (NUL included), quotes, backslash,
    /// slash, two-, three- and four-byte UTF-8 (astral), U+2028, U+FFFF, U+10FFFF.
    static let scalars: [Unicode.Scalar] = {
        var pool: [Unicode.Scalar] = (0x00...0x1F).map { Unicode.Scalar($0)! }
        pool += ["\"", "\\", "/", "a", "Z", "0", " ", "~", "\u{7F}", "é", "ß", "\u{7FF}", "€", "中", "\u{2028}"]
        pool += ["\u{FFFD}", "\u{FFFF}", "😀", "\u{1D11E}", "\u{10FFFF}", "\u{10000}"]
        return pool
    }()

    static func string(_ random: inout Seeded, allowNUL: Bool = true, maxLength: Int = 12) -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...maxLength, using: &random) {
            let scalar = scalars.randomElement(using: &random)!
            text.append(scalar == "\0" && !allowNUL ? "x" : scalar)
        }
        return String(text)
    }

    static func double(_ random: inout Seeded) -> Double {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return Double(Int.random(in: -1_000_000...1_000_000, using: &random)) / 64
        case 1:
            return [1e300, -1e300, .leastNonzeroMagnitude, 1.7976931348623157e308, 0.1, 1.5e-7, 9.3e18, -0.0]
                .randomElement(
                    using: &random)!
        default:
            while true {
                let value = Double(bitPattern: random.next())
                if value.isFinite { return value }
            }
        }
    }

    static func value(_ random: inout Seeded, depth: Int) -> JSONValue {
        switch Int.random(in: 0..<(depth > 0 ? 8 : 6), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2:
            return .int(
                [Int64.min, Int64.max, 0, -1, Int64.random(in: .min ... .max, using: &random)]
                    .randomElement(using: &random)!)
        case 3: return .double(double(&random))
        case 4, 5: return .string(string(&random))
        case 6: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in value(&random, depth: depth - 1) })
        default: return .object(object(&random, depth: depth - 1))
        }
    }

    /// An object with keys the C readers can name (a C key is NUL-terminated, so keys hold no NUL).
    static func object(_ random: inout Seeded, depth: Int) -> JSONObject {
        var object = JSONObject()
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            object.set(string(&random, allowNUL: false, maxLength: 6), value(&random, depth: depth))
        }
        return object
    }

    /// The C readers over `bytes`, on sub-ranges of it (a nested object is read where it stands).
    struct Reader {
        let bytes: [UInt8]

        func raw(_ range: Range<Int>, _ key: String) -> (toolhost_json_status, Range<Int>) {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { text in
                    let base = text.baseAddress! + range.lowerBound
                    var value: UnsafePointer<CChar>? = nil
                    var length = 0
                    let status = toolhost_json_get_raw(base, range.count, key, &value, &length)
                    guard status == TOOLHOST_JSON_OK, let value else { return (status, 0..<0) }
                    let start = range.lowerBound + (value - base)
                    return (status, start..<(start + length))
                }
            }
        }

        func call<R>(_ range: Range<Int>, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress! + range.lowerBound, range.count) }
            }
        }

        func string(_ range: Range<Int>, _ key: String, capacity: Int) -> (toolhost_json_status, [UInt8], Int) {
            var out = [CChar](repeating: 1, count: max(capacity, 1))
            var length = 0
            let status = call(range) { toolhost_json_get_string($0, $1, key, &out, capacity, &length) }
            let text = out.prefix(status == TOOLHOST_JSON_OK ? length : 0).map { UInt8(bitPattern: $0) }
            return (status, text, length)
        }
    }

    /// Checks every member of the object at `range` with the readers of its type, and the others refuse it.
    func check(_ object: JSONObject, at range: Range<Int>, in reader: Reader, seed: UInt64) throws {
        let name = { (status: toolhost_json_status) in String(cString: toolhost_json_testing_status_name(status)) }
        for key in object.keys {
            let expected = object[key]!
            let (status, span) = reader.raw(range, key)
            #expect(status == TOOLHOST_JSON_OK, "seed \(seed): raw \(key): \(name(status))")
            #expect(Array(reader.bytes[span]) == expected.canonical(), "seed \(seed): raw \(key)")
            var int: Int64 = 0
            var number = 0.0
            var flag: Int32 = 0
            let intStatus = reader.call(range) { toolhost_json_get_int($0, $1, key, &int) }
            let numberStatus = reader.call(range) { toolhost_json_get_number($0, $1, key, &number) }
            let boolStatus = reader.call(range) { toolhost_json_get_bool($0, $1, key, &flag) }
            let bytes = reader.string(range, key, capacity: span.count)
            switch expected {
            case .string(let text):
                let utf8 = Array(text.utf8)
                #expect(bytes.0 == TOOLHOST_JSON_OK, "seed \(seed): string \(key): \(name(bytes.0))")
                #expect(bytes.1 == utf8 && bytes.2 == utf8.count, "seed \(seed): string \(key)")
                // One byte short (no room for the NUL): refused, with the length it needs.
                let short = reader.string(range, key, capacity: utf8.count)
                #expect(short.0 == TOOLHOST_JSON_TOO_LONG && short.2 == utf8.count, "seed \(seed): short \(key)")
                #expect(intStatus == TOOLHOST_JSON_WRONG_TYPE && numberStatus == TOOLHOST_JSON_WRONG_TYPE)
            case .int(let value):
                #expect(intStatus == TOOLHOST_JSON_OK && int == value, "seed \(seed): int \(key)")
                #expect(numberStatus == TOOLHOST_JSON_OK && number == Double(value), "seed \(seed): number \(key)")
            case .double(let value):
                #expect(numberStatus == TOOLHOST_JSON_OK && number == value, "seed \(seed): number \(key) \(value)")
                if value.rounded(.towardZero) != value {
                    #expect(intStatus == TOOLHOST_JSON_WRONG_TYPE, "seed \(seed): a fraction is not an integer")
                } else if let exact = Int64(exactly: value) {
                    #expect(intStatus == TOOLHOST_JSON_OK && int == exact, "seed \(seed): int \(key) \(value)")
                } else {
                    #expect(intStatus == TOOLHOST_JSON_OUT_OF_RANGE, "seed \(seed): int \(key) \(value)")
                }
            case .bool(let value):
                #expect(boolStatus == TOOLHOST_JSON_OK && (flag != 0) == value, "seed \(seed): bool \(key)")
            case .object(let nested):
                try check(nested, at: span, in: reader, seed: seed)
            case .null, .array:
                #expect(try JSONValue.parse(Array(reader.bytes[span])) == expected)
            }
            if case .string = expected {} else { #expect(bytes.0 == TOOLHOST_JSON_WRONG_TYPE, "seed \(seed): \(key)") }
            if case .bool = expected {} else { #expect(boolStatus == TOOLHOST_JSON_WRONG_TYPE, "seed \(seed)") }
        }
        let absent = "absent \u{1F600}"
        if object[absent] == nil { #expect(reader.raw(range, absent).0 == TOOLHOST_JSON_MISSING) }
    }

    @Test(arguments: 0..<300 as Range<UInt64>)
    func theCReadersReadTheHostsCanonicalJSONBackEqual(seed: UInt64) throws {
        var random = Seeded(state: seed)
        let object = Self.object(&random, depth: 3)
        let bytes = JSONValue.object(object).canonical()
        try check(object, at: 0..<bytes.count, in: Reader(bytes: bytes), seed: seed)
    }

    @Test func theCEscaperWritesWhatTheHostsParserReadsBackAndItsCanonicalWriterWrites() throws {
        var random = Seeded(state: 7)
        for round in 0..<2000 {
            let text = Self.string(&random, maxLength: 40)
            let utf8 = Array(text.utf8)
            var out = [CChar](repeating: 0, count: utf8.count * 6 + 3)
            let length = utf8.withUnsafeBufferPointer { input in
                input.withMemoryRebound(to: CChar.self) {
                    toolhost_json_escape($0.baseAddress, $0.count, &out, out.count)
                }
            }
            let escaped = out.prefix(length).map { UInt8(bitPattern: $0) }
            #expect(length < out.count && out[length] == 0, "round \(round)")
            #expect(try JSONValue.parse(escaped) == .string(text), "round \(round): \(text.debugDescription)")
            #expect(escaped == JSONValue.string(text).canonical(), "round \(round): \(text.debugDescription)")
            // Too small a buffer: the full length is still returned, and what fitted is NUL-terminated.
            var small = [CChar](repeating: 1, count: 2)
            let needed = utf8.withUnsafeBufferPointer { input in
                input.withMemoryRebound(to: CChar.self) { toolhost_json_escape($0.baseAddress, $0.count, &small, 2) }
            }
            #expect(needed == length && small == [CChar(UInt8(ascii: "\"")), 0])
        }
    }

    /// The readers and the writers inside a real plugin, through the host: what the host passes in canonical
    /// form comes back from the C writers, through write_result, equal.
    @Test func aPluginOverTheHelpersEchoesRandomValuesThroughTheHost() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let manifest: JSONValue = [
            "name": "jsonprobe", "version": "1.0.0", "abi": ["major": 1, "minor": 1],
            "library": ["file": "libjsonprobe.so"],
            "tools": [Fixtures.tool("echo_string"), Fixtures.tool("echo_typed"), Fixtures.tool("echo_bytewise")],
        ]
        try Fixtures.install(
            in: plugins, folder: "jsonprobe", manifest: manifest,
            libraryFrom: try await Fixtures.compile("jsonprobe.c"), libraryName: "libjsonprobe.so")
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        )
        var random = Seeded(state: 11)
        for round in 0..<200 {
            let text = Self.string(&random, maxLength: 200)
            let echoed = try await host.call("jsonprobe.echo_string", arguments: ["text": .string(text)])
            #expect(echoed.json == ["text": .string(text)], "round \(round): \(text.debugDescription)")
            // The header's rule: pieces are concatenated before the host checks them, so UTF-8 may be split.
            let bytewise = try await host.call("jsonprobe.echo_bytewise", arguments: ["text": .string(text)])
            #expect(bytewise.json == ["text": .string(text)], "round \(round): \(text.debugDescription)")

            let typed: JSONValue = [
                "b": .bool(Bool.random(using: &random)),
                "i": .int(Int64.random(in: .min ... .max, using: &random)),
                "n": .double(Self.double(&random)),
                "raw": Self.value(&random, depth: 3),
            ]
            let back = try await host.call("jsonprobe.echo_typed", arguments: typed)
            #expect(back.json == typed, "round \(round)")
        }
    }

    /// The header is also C++: it compiles as C++11 with warnings as errors (the C99 build is this test target).
    @Test func theHeaderCompilesAsCPlusPlus() async throws {
        let source = Fixtures.temporaryDirectory("toolhost-cxx") + "/use.cpp"
        try """
        #include <toolhost/toolhost_json.h>
        int32_t handler(const toolhost_call *call, const char *args, size_t len) {
            char name[64];
            int64_t count;
            if (toolhost_json_get_string(args, len, "name", name, sizeof name, nullptr) != TOOLHOST_JSON_OK
                || toolhost_json_get_int(args, len, "count", &count) != TOOLHOST_JSON_OK)
                return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "name and count");
            return toolhost_json_write_string(call, name, strlen(name)) ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
        }

        """.write(toFile: source, atomically: true, encoding: .utf8)
        let result = try await Fixtures.run(
            "/usr/bin/c++",
            [
                "-std=c++11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fsyntax-only", "-I",
                Fixtures.includeDirectory, source,
            ])
        #expect(result.status == 0, "\(result.stderr)")
    }
}
