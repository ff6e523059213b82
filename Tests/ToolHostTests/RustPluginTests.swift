import Foundation
import Logging
import Testing
import ToolHost
import ToolHostJSON
import ToolHostTesting

/// The bundled Rust plugin (Plugins/rustkit, on the SDK in plugin-sdk/rust), built by cargo as `.ci/run` builds it
/// and loaded in this process like any other plugin.
@Suite(.enabled(if: Fixtures.cargo != nil, Fixtures.cargoMissing)) struct RustPluginTests {
    private func host(logger: Logger = Logger(label: "toolhost")) async throws -> ToolHost {
        let plugins = try await Fixtures.installRustPlugin("rustkit")
        return ToolHost(
            configuration: .init(pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory()),
            logger: logger)
    }

    @Test func rustToolsAnswerThroughTheSDK() async throws {
        let host = try await host()
        defer { host.shutdown() }
        #expect(
            try await host.call("rustkit.reverse", arguments: ["text": "héllo, \"wörld\"\n"]).json
                == "\n\"dlröw\" ,olléh")
        #expect(try await host.call("rustkit.roman", arguments: ["number": 1994]).json == "MCMXCIV")
        #expect(
            try await host.call("rustkit.count_primes", arguments: ["below": 1000]).json == [
                "below": 1000, "count": 168,
            ])
        // An Error from the handler keeps its status and message.
        let refused = await host.call(ToolCall(tool: "rustkit.roman", arguments: ["number": 4000]))
        guard case .failure(let error) = refused else { Issue.record("roman 4000 was answered"); return }
        #expect(error.code == .invalidArguments)
        #expect(error.message.contains("number 4000 has no Roman numeral: give a whole number from 1 to 3999"))
    }

    @Test func aPanicIsTheCallsErrorAndThePluginKeepsServing() async throws {
        let lines = LogLines()
        let host = try await host(logger: Logger(label: "test") { _ in lines.handler })
        defer { host.shutdown() }
        let panicked = await host.call(ToolCall(tool: "rustkit.reverse", arguments: ["text": "panic!"]))
        guard case .failure(let error) = panicked else { Issue.record("the panic was answered"); return }
        #expect(error.code == .pluginError)
        #expect(
            error.message.contains("tool 'reverse' panicked: asked to panic by the text \"panic!\" (at src/lib.rs:"))
        #expect(lines.all.contains { $0.contains("tool 'reverse' panicked") && $0.contains("plugin.name=rustkit") })
        // The same process, the same plugin: still serving, on every tool.
        #expect(try await host.call("rustkit.reverse", arguments: ["text": "abc"]).json == "cba")
        #expect(try await host.call("rustkit.roman", arguments: ["number": 9]).json == "IX")
    }

    @Test func aCancelledRustToolSeesTheCancellation() async throws {
        let lines = LogLines()
        let host = try await host(logger: Logger(label: "test") { _ in lines.handler })
        defer { host.shutdown() }
        // Cancelled once the handler is running (its first log line), not by a deadline that could pass while the
        // call still waits for a thread. A loaded machine may let the sieve finish before the cancel lands: then
        // again, a few times, each with another bound (the tool is deterministic: the same arguments again would be
        // a cache hit, and no sieve would start).
        for attempt in 1...5 {
            let below = 100_000_000 - attempt
            let call = Task {
                await host.call(ToolCall(tool: "rustkit.count_primes", arguments: ["below": .int(Int64(below))]))
            }
            try await Fixtures.waitUntil("the sieve starts") {
                lines.all.contains { $0.contains("count_primes: sieving below \(below)") }
            }
            call.cancel()
            guard case .failure(let error) = await call.value else { continue }
            #expect(error.code == .cancelled, "attempt \(attempt): \(error)")
            // The handler polls Call::is_cancelled and logs through the host's log function as it stops.
            try await Fixtures.waitUntil("the sieve logs that it stopped") {
                lines.all.contains { $0.contains("count_primes stopped at") && $0.contains("the call was cancelled") }
            }
            return
        }
        Issue.record("the sieve finished before the cancel landed five times")
    }

    @Test func theRustLibraryExportsOnlyTheEntry() async throws {
        let library = try await Fixtures.buildRustPlugin("rustkit")
        let result = try await Fixtures.run("/usr/bin/nm", ["-D", "--defined-only", library])
        #expect(result.status == 0, "\(result.stderr)")
        let symbols = result.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(symbols == ["toolhost_plugin_entry"])
    }
}
