import Foundation
import Testing

@testable import ToolHostJSON

/// Runs the official JSON Schema test suite (draft 2020-12) against ``JSONSchema``.
///
/// For every group: if the schema compiles, every case must give the expected result (through both
/// `validate` and `isValid`); if it does not, the refusal must be an "unsupported" error caused by a feature
/// toolhost deliberately leaves out. The expected per-file counts are pinned below, so a regression in either
/// direction fails.
@Suite("JSON Schema test suite (draft 2020-12)")
struct SchemaSuiteTests {
    /// Features whose absence may legitimately refuse a group.
    static let genuinelyUnsupportedKeywords: Set<String> = [
        "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
    ]

    /// Expected (groups, compiled, cases passed) per file; refused = groups - compiled.
    /// Cases passed always equal all cases of the compiled groups (any failing case also fails the test above).
    static let expected: [String: (groups: Int, compiled: Int, passed: Int)] = [
        "additionalProperties.json": (9, 9, 21),
        "allOf.json": (12, 12, 30),
        "anchor.json": (4, 1, 2),
        "anyOf.json": (8, 8, 18),
        "boolean_schema.json": (2, 2, 18),
        "const.json": (17, 17, 54),
        "contains.json": (7, 7, 21),
        "content.json": (4, 4, 18),
        "default.json": (3, 3, 7),
        "defs.json": (1, 0, 0),
        "dependentRequired.json": (4, 4, 20),
        "dependentSchemas.json": (4, 4, 20),
        "dynamicRef.json": (21, 0, 0),
        "enum.json": (15, 15, 51),
        "exclusiveMaximum.json": (1, 1, 4),
        "exclusiveMinimum.json": (1, 1, 4),
        "format.json": (19, 19, 133),
        "if-then-else.json": (12, 12, 30),
        "infinite-loop-detection.json": (1, 1, 2),
        "items.json": (10, 10, 29),
        "maxContains.json": (5, 5, 14),
        "maxItems.json": (2, 2, 6),
        "maxLength.json": (2, 2, 7),
        "maxProperties.json": (3, 3, 10),
        "maximum.json": (2, 2, 8),
        "minContains.json": (8, 8, 28),
        "minItems.json": (2, 2, 6),
        "minLength.json": (2, 2, 7),
        "minProperties.json": (2, 2, 10),
        "minimum.json": (2, 2, 11),
        "multipleOf.json": (5, 5, 11),
        "not.json": (9, 8, 38),
        "oneOf.json": (11, 11, 27),
        "pattern.json": (3, 3, 12),
        "patternProperties.json": (6, 6, 25),
        "prefixItems.json": (4, 4, 11),
        "properties.json": (6, 6, 28),
        "propertyNames.json": (6, 6, 22),
        "ref.json": (36, 22, 50),
        "refRemote.json": (15, 0, 0),
        "required.json": (5, 5, 18),
        "type.json": (11, 11, 80),
        "unevaluatedItems.json": (29, 0, 0),
        "unevaluatedProperties.json": (44, 0, 0),
        "uniqueItems.json": (6, 6, 69),
        "vocabulary.json": (2, 0, 0),
    ]

    /// The suite's `draft2020-12` directory, from `JSONSCHEMA_TEST_SUITE` (`.ci/run` sets it to
    /// `../shared/jsonschema-test-suite/draft2020-12` when that exists); nil when the variable is unset, and then the
    /// test is skipped (reported as such, never as passed).
    static var suiteDirectory: URL? {
        guard let path = ProcessInfo.processInfo.environment["JSONSCHEMA_TEST_SUITE"], !path.isEmpty else { return nil }
        return URL(fileURLWithPath: path)
    }

    struct FileResult {
        var name: String
        var groups = 0
        var compiled = 0
        var cases = 0
        var passed = 0
        var refusals: [String: Int] = [:]
    }

    /// Why a group was refused, in a short form for the table.
    static func reason(_ error: JSONSchemaError) -> String {
        switch error.code {
        case .unsupportedKeyword: return error.keyword ?? "?"
        case .unsupportedReference: return "remote $ref"
        case .unsupportedIdentifier: return "embedded $id"
        case .unsupportedDialect: return "other $schema"
        default: return error.code.name
        }
    }

    @Test(
        "every compiled group gives the expected results; every refusal is a genuinely unsupported feature",
        .enabled(if: suiteDirectory != nil, "JSONSCHEMA_TEST_SUITE is not set: the official suite is not run"))
    func officialSuite() throws {
        let directory = try #require(Self.suiteDirectory)
        let files = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        guard let files, !files.isEmpty else {
            Issue.record(
                "JSON Schema test suite not found at \(directory.path) (JSONSCHEMA_TEST_SUITE): it must be the suite's draft2020-12 directory"
            )
            return
        }
        var results: [FileResult] = []
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(file)))
            let document = try JSONValue.parse(bytes)
            var result = FileResult(name: file)
            let stem = String(file.dropLast(5))
            for group in try #require(document.arrayValue, "\(file) is not an array") {
                result.groups += 1
                let description = group["description"]?.stringValue ?? "?"
                let tests = group["tests"]?.arrayValue ?? []
                let source = try #require(group["schema"])
                let schema: JSONSchema
                do {
                    schema = try JSONSchema(source)
                } catch {
                    let why = Self.reason(error)
                    result.refusals[why, default: 0] += 1
                    #expect(
                        error.isUnsupported, "\(file) / \(description): refused with \(error.code): \(error.message)")
                    #expect(
                        error.message.contains("not supported by toolhost"),
                        "\(file) / \(description): \(error.message)")
                    let genuine =
                        error.code == .unsupportedReference || error.code == .unsupportedIdentifier
                        || error.code == .unsupportedDialect
                        || Self.genuinelyUnsupportedKeywords.contains(error.keyword ?? "")
                    if JSONSchema.supportedKeywords.contains(stem) || stem == "boolean_schema" {
                        #expect(genuine, "\(file) / \(description): wrongly refused: \(error.message)")
                    }
                    continue
                }
                result.compiled += 1
                for test in tests {
                    result.cases += 1
                    let data = try #require(test["data"])
                    let valid = try #require(test["valid"]?.boolValue)
                    let violations = schema.validate(data)
                    let fast = schema.isValid(data)
                    let ok = violations.isEmpty == valid && fast == valid
                    if ok { result.passed += 1 }
                    #expect(
                        ok,
                        """
                        \(file) / \(description) / \(test["description"]?.stringValue ?? "?"): expected \
                        valid=\(valid), validate gave \(violations.map(\.message)), isValid gave \(fast)
                        """)
                }
            }
            results.append(result)
        }
        print(Self.table(results))
        for result in results {
            guard let pinned = Self.expected[result.name] else {
                if !Self.expected.isEmpty { Issue.record("no expected counts pinned for \(result.name)") }
                continue
            }
            #expect(
                pinned.groups == result.groups && pinned.compiled == result.compiled && pinned.passed == result.passed,
                "\(result.name): expected \(pinned), got groups \(result.groups) compiled \(result.compiled) passed \(result.passed)"
            )
        }
        #expect(!Self.expected.isEmpty, "pin the expected counts")
    }

    static func table(_ results: [FileResult]) -> String {
        var lines = ["| file | groups | compiled | cases passed | refused (reason: count) |", "|---|---|---|---|---|"]
        for r in results {
            let reasons = r.refusals.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            lines.append(
                "| \(r.name) | \(r.groups) | \(r.compiled) | \(r.passed)/\(r.cases) | \(r.groups - r.compiled) \(reasons.isEmpty ? "" : "(\(reasons))") |"
            )
        }
        let groups = results.reduce(0) { $0 + $1.groups }
        let compiled = results.reduce(0) { $0 + $1.compiled }
        let passed = results.reduce(0) { $0 + $1.passed }
        let cases = results.reduce(0) { $0 + $1.cases }
        lines.append("| total | \(groups) | \(compiled) | \(passed)/\(cases) | \(groups - compiled) |")
        return lines.joined(separator: "\n")
    }
}
