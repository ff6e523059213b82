import Foundation
import Testing
import ToolHostJSON
import ToolHostTesting

/// The README's plugin quickstart, run as written: every block marked `<!-- quickstart: … -->` in README.md, in
/// order, in a fresh directory laid out like a clone after `swift build` (`plugin-sdk/` and `.build/debug/toolhost`).
struct ReadmeQuickstartTests {
    /// One marked block of the README.
    struct Step {
        enum Kind: Equatable {
            /// A shell block, run with `sh -eu` from the directory the README names (the repository root).
            case run
            /// A file the reader writes: the block is its whole content.
            case file(String)
            /// What the previous `run` block prints on stdout, exactly.
            case stdout
        }
        var kind: Kind
        var body: String
        var line: Int
    }

    /// The marked blocks of `markdown`, in order. A marker must be followed by a fenced block.
    static func steps(in markdown: String) throws -> [Step] {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var steps: [Step] = []
        var index = 0
        while index < lines.count {
            let line = lines[index].trimmingCharacters(in: .whitespaces)
            index += 1
            guard line.hasPrefix("<!-- quickstart:"), line.hasSuffix("-->") else { continue }
            let words = line.dropFirst("<!-- quickstart:".count).dropLast(3).split(separator: " ").map(String.init)
            let kind: Step.Kind
            switch words.first {
            case "run": kind = .run
            case "stdout": kind = .stdout
            case "file" where words.count == 2: kind = .file(words[1])
            default: throw FixtureError("README.md:\(index): unknown quickstart marker '\(line)'")
            }
            guard index < lines.count, lines[index].hasPrefix("```") else {
                throw FixtureError("README.md:\(index): a quickstart marker must be followed by a ``` block")
            }
            let open = index + 1
            var close = open
            while close < lines.count, lines[close] != "```" { close += 1 }
            guard close < lines.count else { throw FixtureError("README.md:\(open): unclosed quickstart block") }
            steps.append(Step(kind: kind, body: lines[open..<close].joined(separator: "\n") + "\n", line: open))
            index = close + 1
        }
        return steps
    }

    @Test func theReadmeQuickstartRunsAsWrittenFromAFreshDirectory() async throws {
        let readme = try String(contentsOfFile: Fixtures.root + "/README.md", encoding: .utf8)
        let steps = try Self.steps(in: readme)
        // The section must be there: a plugin source, its manifest, commands, and the output they promise.
        #expect(steps.contains { $0.kind == .file("plugins/hello/hello.c") })
        #expect(steps.contains { $0.kind == .file("plugins/hello/manifest.json") })
        #expect(steps.filter { $0.kind == .run }.count >= 2)
        #expect(steps.contains { $0.kind == .stdout })

        // A clone after `swift build`: the SDK where the README says, the binary where `swift build` puts it.
        let root = Fixtures.temporaryDirectory("toolhost-quickstart")
        let manager = FileManager.default
        try manager.createSymbolicLink(atPath: root + "/plugin-sdk", withDestinationPath: Fixtures.root + "/plugin-sdk")
        try manager.createDirectory(atPath: root + "/.build/debug", withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: root + "/.build/debug/toolhost", withDestinationPath: Fixtures.binary)

        var lastOutput: String?
        for step in steps {
            switch step.kind {
            case .file(let path):
                // Written as the reader writes it; the README told them to make the folder first.
                try step.body.write(toFile: root + "/" + path, atomically: false, encoding: .utf8)
            case .run:
                let result = try await Fixtures.run(
                    "/usr/bin/env",
                    [
                        "-u", "TOOLHOST_PLUGINS", "-u", "TOOLHOST_CONFIG", "/bin/sh", "-euc", "cd \"$0\"\n" + step.body,
                        root,
                    ],
                    environment: ["TOOLHOST_STATE_DIR": root + "/.state"])
                #expect(result.status == 0, "README.md:\(step.line): \(step.body)\(result.stdout)\(result.stderr)")
                guard result.status == 0 else { return }
                lastOutput = result.stdout
            case .stdout:
                #expect(lastOutput == step.body, "README.md:\(step.line): the output the README shows")
            }
        }
    }

    /// plugin-sdk/examples/hello.c is the README's plugin, so the two cannot drift apart.
    @Test func theSDKsExampleIsTheReadmesPlugin() throws {
        let readme = try String(contentsOfFile: Fixtures.root + "/README.md", encoding: .utf8)
        let source = try #require(try Self.steps(in: readme).first { $0.kind == .file("plugins/hello/hello.c") })
        let example = try String(contentsOfFile: Fixtures.root + "/plugin-sdk/examples/hello.c", encoding: .utf8)
        #expect(example == source.body)
    }
}
