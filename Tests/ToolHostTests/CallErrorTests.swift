import Foundation
import Logging
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

/// Call-time errors an author or operator can act on: each says what is wrong and what to do.
struct CallErrorTests {
    private func failure(_ host: ToolHost, _ tool: String, _ arguments: JSONValue = [:]) async throws -> ToolError {
        let outcome = await host.call(ToolCall(tool: tool, arguments: arguments))
        guard case .failure(let error) = outcome else { throw FixtureError("\(tool) succeeded") }
        return error
    }

    @Test func aMissingPluginsDirectoryIsNamedInNotFound() async throws {
        let missing = Fixtures.temporaryDirectory("toolhost-plugins") + "/absent"
        let host = ToolHost(
            configuration: .init(pluginsDirectory: missing, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        )
        defer { host.shutdown() }
        let error = try await failure(host, "x.y")
        #expect(error.code == .notFound)
        #expect(error.message.hasPrefix("no tool 'x.y': the plugins directory does not exist (\(missing))"))
        #expect(error.message.contains("create it, or point --plugins"))
    }

    /// The folder is named otherwise than the plugin: the manifest's declared name still ties the two together.
    @Test func aRefusedPluginFolderIsNamedWithItsReasonInNotFound() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        try Fixtures.install(
            in: plugins, folder: "hello-dev",
            manifest: ["name": "hello", "version": "1.0.0", "abi": ["major": 1, "minor": 1], "tools": []],
            libraryFrom: nil)
        let host = ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        )
        defer { host.shutdown() }
        let error = try await failure(host, "hello.greet")
        #expect(error.code == .notFound)
        #expect(
            error.message.hasPrefix(
                "no tool 'hello.greet': plugin 'hello' was not loaded: its folder \(plugins)/hello-dev was refused: "))
        #expect(error.message.contains("'library'"), "the reason: \(error.message)")

        // Another plugin's tool: the refused folder is still mentioned, with where to look.
        let other = try await failure(host, "other.tool")
        #expect(other.message.contains("1 plugin folder was refused: \(plugins)/hello-dev (`toolhost check FOLDER`"))
    }

    @Test(arguments: [(3, ToolError.Code.pluginError), (1, .invalidArguments), (2, .pluginError)])
    func anErrorStatusWithoutAMessageSaysSoAndHowToFixIt(status: Int, code: ToolError.Code) async throws {
        let (host, _) = try await Fixtures.probeHost()
        defer { host.shutdown() }
        let error = try await failure(host, "probe.mute", ["status": .int(Int64(status))])
        #expect(error.code == code)
        #expect(error.message.contains("without a message: the plugin should call write_error"), "\(error.message)")
    }

    @Test func writeResultOffTheCallsThreadIsLoggedOncePerTool() async throws {
        let lines = LogLines()
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let library = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"\(UUID().uuidString)\""])
        try Fixtures.install(in: plugins, folder: "probe", manifest: Fixtures.probeManifest(), libraryFrom: library)
        let host = ToolHost(
            configuration: .init(
                pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store")),
            logger: Logger(label: "test") { _ in lines.handler })
        defer { host.shutdown() }
        // Each call after the first writes through the previous call's pointer from a thread of its own.
        for _ in 0..<3 { _ = try await host.call("probe.stale", arguments: [:]) }
        let warnings = lines.all.filter { $0.contains("write_result was called off the thread running the call") }
        #expect(warnings.count == 1, "\(lines.all)")
        #expect(warnings.first?.contains("tool.name=stale") == true)
        #expect(warnings.first?.contains("plugin.name=probe") == true)
    }
}
