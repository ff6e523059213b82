import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

@Suite struct ManifestTests {
    private func parse(_ json: String) throws(ManifestError) -> PluginManifest {
        try PluginManifest.parse(Array(json.utf8), file: "manifest.json")
    }

    private func problems(_ json: String) -> [ManifestError.Problem] {
        do {
            _ = try parse(json)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func parsesEveryField() throws {
        let manifest = try parse(
            """
            {"name": "textkit", "version": "2.1.0", "description": "d", "abi": {"major": 1, "minor": 0},
             "maxConcurrency": 4,
             "library": {"file": "libtextkit.so", "sha256": "\(String(repeating: "ab", count: 32))"},
             "tools": [{"name": "stats", "description": "count", "inputSchema": {"type": "object"},
                        "deterministic": true, "idempotent": true,
                        "cache": {"ttlSeconds": 1.5, "nonCacheableParams": ["seed"]},
                        "timeoutMs": 250, "priority": 7, "maxConcurrency": 2,
                        "retries": {"maxAttempts": 3, "initialBackoffMs": 5}, "capabilities": ["network"]}]}
            """)
        #expect(manifest.name == "textkit")
        #expect(manifest.version == "2.1.0")
        #expect(manifest.abi == .init(major: 1, minor: 0))
        #expect(manifest.library.sha256 == String(repeating: "ab", count: 32))
        #expect(manifest.maxConcurrency == 4)
        let tool = try #require(manifest.tools.first)
        #expect(tool.deterministic && tool.idempotent)
        #expect(tool.cache == .init(ttlSeconds: 1.5, nonCacheableParams: ["seed"]))
        #expect(tool.timeoutMs == 250 && tool.priority == 7 && tool.maxConcurrency == 2)
        #expect(tool.retries == .init(maxAttempts: 3, initialBackoffMs: 5))
        #expect(tool.capabilities == ["network"])
    }

    @Test func defaultsAreConservative() throws {
        let manifest = try parse(
            """
            {"name": "a", "version": "1", "abi": {"major": 1, "minor": 0}, "library": {"file": "liba.so"},
             "tools": [{"name": "t", "description": "d", "inputSchema": {"type": "object"}}]}
            """)
        let tool = try #require(manifest.tools.first)
        #expect(!tool.deterministic && !tool.idempotent)
        #expect(tool.priority == 0 && tool.timeoutMs == nil && tool.retries.maxAttempts == 1)
    }

    @Test func reportsEveryProblemWithItsPath() {
        let found = problems(
            """
            {"name": "Bad Name", "version": "1", "abi": {"major": 1, "minor": 0},
             "library": {"file": "../escape.so", "sha256": "XYZ"}, "colour": "red",
             "tools": [{"name": "t", "description": "d", "inputSchema": {"type": "object"}, "timeoutMs": -5}]}
            """)
        let paths = Set(found.map(\.path))
        #expect(paths.contains("/name"))
        #expect(paths.contains("/library/file"))
        #expect(paths.contains("/library/sha256"))
        #expect(paths.contains("/tools/0/timeoutMs"))
        #expect(found.contains { $0.message.contains("colour") || $0.path == "/colour" })
        #expect(found.allSatisfy { !$0.hint.isEmpty })
    }

    /// `timeoutMS`, `determinstic` and friends: one problem per typo, the field meant, each pointer printed once.
    @Test func aMisspeltFieldOrValueIsOneProblemThatSaysWhatWasMeant() {
        let found = problems(
            """
            {"name": "p", "version": "1", "abi": {"major": 1, "minor": 0}, "isolation": "proces",
             "library": {"fle": "libp.so"},
             "tools": [{"name": "t", "descripton": "d", "inputSchema": {"type": "object"}, "timeoutMS": 5,
                        "determinstic": true, "colour": "red"}]}
            """)
        #expect(
            found.map(\.description) == [
                #"/isolation: "proces" is not one of "inprocess", "process"; did you mean "process"? (fix: use "process")"#,
                "/library/fle: unknown field 'fle'; did you mean 'file'? (fix: rename it to 'file')",
                "/tools/0/descripton: unknown field 'descripton'; did you mean 'description'? (fix: rename it to "
                    + "'description')",
                "/tools/0/timeoutMS: unknown field 'timeoutMS'; did you mean 'timeoutMs'? (fix: rename it to 'timeoutMs')",
                "/tools/0/determinstic: unknown field 'determinstic'; did you mean 'deterministic'? (fix: rename it to "
                    + "'deterministic')",
                "/tools/0/colour: unknown field 'colour' (fix: remove it; the fields allowed here are name, description, "
                    + "inputSchema, signature, symbol, freeReturn, threadSafe, deterministic, idempotent, cache, "
                    + "timeoutMs, priority, maxConcurrency, retries, examples, capabilities, provides, weight, maxOutputBytes, "
                    + "maxResultBytes)",
            ])
        // Every other violation names its pointer once too.
        let range = problems(
            #"{"name": "p", "version": "1", "abi": {"major": 1, "minor": 0}, "library": {"file": "l.so"}, "#
                + #""tools": [{"name": "t", "description": "d", "inputSchema": {"type": "object"}, "timeoutMs": -5}]}"#)
        #expect(range.count == 1)
        #expect(range.first.map { $0.description.components(separatedBy: "/tools/0/timeoutMs").count == 2 } == true)
    }

    /// A manifest over the size cap is refused before it is read (a 144 MB one used to cost 700 MB to check).
    @Test func refusesAManifestOverTheSizeCapBeforeReadingIt() throws {
        let directory = Fixtures.temporaryDirectory("toolhost-huge-manifest")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/manifest.json"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(PluginManifest.maximumBytes + 1))  // sparse: no memory, no disk
        try handle.close()
        #expect {
            try PluginManifest.load(directory: directory)
        } throws: { error in
            "\(error)".contains("over the \(PluginManifest.maximumBytes)-byte limit")
        }
        let host = ToolHost(
            configuration: .init(pluginsDirectory: directory + "/..", libraryStore: Fixtures.temporaryDirectory()))
        defer { host.shutdown() }
        #expect(host.problems().contains { "\($0)".contains("-byte limit") })
    }

    @Test func refusesAMissingRequiredField() {
        let found = problems(#"{"name": "a", "version": "1", "abi": {"major": 1, "minor": 0}, "tools": []}"#)
        #expect(found.contains { $0.message.contains("library") })
    }

    @Test func refusesInvalidJSONWithPosition() {
        let found = problems(#"{"name": "a",, }"#)
        #expect(found.count == 1)
        #expect(found[0].message.contains("not valid JSON"))
        #expect(found[0].message.contains("column"))
    }

    @Test func refusesDuplicateToolNames() {
        let found = problems(
            """
            {"name": "a", "version": "1", "abi": {"major": 1, "minor": 0}, "library": {"file": "liba.so"},
             "tools": [{"name": "t", "description": "d", "inputSchema": {"type": "object"}},
                       {"name": "t", "description": "d", "inputSchema": {"type": "object"}}]}
            """)
        #expect(found.contains { $0.path == "/tools/1/name" && $0.message.contains("declared twice") })
    }

    @Test func refusesAnInputSchemaWithAnUnsupportedKeyword() {
        let found = problems(
            """
            {"name": "a", "version": "1", "abi": {"major": 1, "minor": 0}, "library": {"file": "liba.so"},
             "tools": [{"name": "t", "description": "d",
                        "inputSchema": {"type": "object", "unevaluatedProperties": false}}]}
            """)
        #expect(found.contains { $0.path == "/tools/0/inputSchema" && $0.message.contains("unevaluatedProperties") })
    }

    @Test func refusesAnInputSchemaThatIsNotAnObjectSchema() {
        let found = problems(
            """
            {"name": "a", "version": "1", "abi": {"major": 1, "minor": 0}, "library": {"file": "liba.so"},
             "tools": [{"name": "t", "description": "d", "inputSchema": {"type": "string"}}]}
            """)
        #expect(found.contains { $0.path == "/tools/0/inputSchema/type" })
    }

    @Test(arguments: [(2, 0, "/abi/major"), (1, 9, "/abi/minor")])
    func refusesAnABIThisHostCannotLoad(major: Int, minor: Int, path: String) {
        let found = problems(
            """
            {"name": "a", "version": "1", "abi": {"major": \(major), "minor": \(minor)},
             "library": {"file": "liba.so"},
             "tools": [{"name": "t", "description": "d", "inputSchema": {"type": "object"}}]}
            """)
        #expect(found.contains { $0.path == path })
    }

    @Test func embeddedSchemaIsThePublishedOne() throws {
        let published = try #require(
            FileManager.default.contents(atPath: Fixtures.root + "/plugin-sdk/manifest.schema.json"))
        #expect(try JSONValue.parse(Array(published)) == ManifestSchema.value, "run scripts/embed-manifest-schema.sh")
    }

    @Test func bundledManifestsAreValid() throws {
        for name in ["textkit", "jsonkit"] {
            let manifest = try PluginManifest.load(directory: Fixtures.root + "/Plugins/" + name)
            #expect(manifest.name == name)
        }
    }
}
