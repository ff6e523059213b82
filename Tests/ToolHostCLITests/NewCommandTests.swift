import Foundation
import Testing
import ToolHostTesting

/// `toolhost new`: for each language, a folder made from scratch builds with `make`, passes `toolhost check` (which
/// runs the manifest's example call in a worker) and answers the call it prints; bad names and used folders are
/// refused and nothing is written.
struct NewCommandTests {
    /// PATH for `make` and its compilers, with cargo's folder when cargo is not on it.
    static let environment: [String: String] = {
        var path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        if let cargo = Fixtures.cargo { path = (cargo as NSString).deletingLastPathComponent + ":" + path }
        return ["PATH": path, "TOOLHOST_STATE_DIR": Fixtures.temporaryDirectory("toolhost-state")]
    }()

    func toolhost(_ arguments: [String], in directory: String? = nil) async throws -> Fixtures.ProcessResult {
        guard let directory else {
            return try await Fixtures.run(Fixtures.binary, arguments, environment: Self.environment)
        }
        // From `directory`, as a user who just made a plugin there would run it.
        return try await Fixtures.run(
            "/bin/sh", ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", directory, Fixtures.binary] + arguments,
            environment: Self.environment)
    }

    @Test(arguments: ["c", "cpp", "rust"])
    func aNewPluginBuildsPassesCheckAndAnswers(language: String) async throws {
        try #require(language != "rust" || Fixtures.cargo != nil, Fixtures.cargoMissing)
        let work = Fixtures.temporaryDirectory("toolhost-new")
        let name = "demo_\(language)"
        // C finds the SDK from the binary's own checkout; the others are given it.
        let sdk = language == "c" ? [] : ["--sdk", Fixtures.root + "/plugin-sdk"]
        let made = try await toolhost(["new", "--lang", language] + sdk + [name], in: work)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("make -C plugins/\(name)"))
        #expect(made.stdout.contains("toolhost call \(name).greet"))

        let built = try await Fixtures.run(
            "/usr/bin/make", ["-C", work + "/plugins/" + name], environment: Self.environment)
        try #require(built.status == 0, "make failed: \(built.stdout)\(built.stderr)")

        let checked = try await toolhost(["check", "plugins/\(name)"], in: work)
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.contains("ok: plugin '\(name)'"))
        #expect(checked.stdout.contains("greet"))

        let called = try await toolhost(["call", "\(name).greet", #"{"name": "Ada \"the first\""}"#], in: work)
        #expect(called.status == 0, "\(called.stderr)")
        #expect(called.stdout == #"{"greeting":"hello, Ada \"the first\""}"# + "\n")
    }

    @Test func aNameThatCannotNameAPluginIsRefused() async throws {
        let work = Fixtures.temporaryDirectory("toolhost-new")
        for name in ["Demo", "1demo", "de-mo", "de mo", String(repeating: "a", count: 65)] {
            let result = try await toolhost(["new", "--lang", "c", name], in: work)
            #expect(result.status == 64, "\(name)")
            #expect(result.stderr.contains("cannot name a plugin"), "\(name): \(result.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty)
    }

    @Test func aFolderInUseIsLeftAsItIs() async throws {
        let work = Fixtures.temporaryDirectory("toolhost-new")
        try FileManager.default.createDirectory(atPath: work + "/mine", withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: work + "/mine/notes.txt"))
        let result = try await toolhost(["new", "--lang", "cpp", "demo", "mine"], in: work)
        #expect(result.status == 64)
        #expect(result.stderr.contains("mine exists and is not empty"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/mine") == ["notes.txt"])
    }

    @Test func anSDKThatIsNotOneIsNamed() async throws {
        let work = Fixtures.temporaryDirectory("toolhost-new")
        let result = try await toolhost(["new", "--lang", "rust", "--sdk", work, "demo"], in: work)
        #expect(result.status == 64)
        #expect(result.stderr.contains("is not the plugin SDK: it has no include/toolhost/toolhost.h"))
        #expect(!FileManager.default.fileExists(atPath: work + "/plugins"))
    }
}
