import Foundation
import Testing
import ToolHostTesting

/// `toolhost top` as a person runs it: in a real terminal (tmux) against a real daemon, redrawing in place, and
/// giving the terminal back on q and on Ctrl-C; one snapshot when stdout is not a terminal.
@Suite struct TopTests {
    /// A tmux server of the test's own (its own socket), driven through the `tmux` binary.
    struct Tmux {
        let socket = "toolhost-top-\(UUID().uuidString.prefix(8))"

        @discardableResult
        func run(_ arguments: [String]) async throws -> Fixtures.ProcessResult {
            try await Fixtures.run("/usr/bin/tmux", ["-L", socket] + arguments)
        }

        /// Quits top if it still runs, ends the shell's `cat` (EOF: the pane's processes may ignore the SIGHUP
        /// of kill-server, inherited from the test runner) and stops the server.
        func stop() async {
            _ = try? await run(["send-keys", "-t", "top", "q", "Enter", "C-d"])
            _ = try? await run(["kill-server"])
        }

        func pane() async throws -> String { try await run(["capture-pane", "-p", "-t", "top"]).stdout }

        /// Polls the pane until `condition` holds (a generous deadline: the machine may be busy).
        @discardableResult
        func wait(_ what: String, _ condition: @escaping (String) -> Bool) async throws -> String {
            var text = ""
            try await Fixtures.waitUntil(what, within: .seconds(60)) {
                text = try await pane()
                return condition(text)
            }
            return text
        }
    }

    static func start(_ tmux: Tmux, port: Int) async throws {
        // The shell says how top ended, then keeps the pane open (cat waits on the terminal) for the checks.
        let command =
            "'\(ServerFixtures.binary)' top --url http://127.0.0.1:\(port) --interval 0.2; echo TOP-EXITED $?; exec cat"
        // Through bash with every descriptor past stderr closed and the rest to /dev/null: the tmux server it forks
        // would otherwise hold the test process's pipes open (this run's and other tests').
        let script =
            #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; "#
            + #"exec /usr/bin/tmux -L "$1" new-session -d -s top -x 160 -y 60 "$2" >/dev/null 2>&1 </dev/null"#
        let started = try await Fixtures.run("/bin/bash", ["-c", script, "bash", tmux.socket, command])
        #expect(started.status == 0, "\(started.stderr)")
    }

    /// Runs `body` with `toolhost top` started in a tmux pane against a busy daemon; the pane and the daemon are
    /// stopped afterwards, whether `body` passed or threw.
    static func withTopOnATerminal(_ body: (InsightsTests.Server, Tmux) async throws -> Void) async throws {
        let server = try await InsightsTests.busyServer()
        let tmux = Tmux()
        do {
            try await start(tmux, port: server.port)
            try await body(server, tmux)
        } catch {
            await tmux.stop()
            await server.stop()
            throw error
        }
        await tmux.stop()
        await server.stop()
    }

    @Test func topRedrawsInPlaceAndGivesTheTerminalBackOnQ() async throws {
        try await Self.withTopOnATerminal { server, tmux in
            let first = try await tmux.wait("top shows the daemon") {
                $0.contains("toolhost top") && $0.contains("probe.sleep") && $0.contains("6 since start")
            }
            #expect(first.contains("plugin_crashed"), "recent errors are shown: \(first)")
            #expect(first.contains("busiest tools"))
            // New calls show up in the same screen: it redraws in place.
            #expect(try await server.request("POST", "/v1/tools/probe.fail/call", body: "{}").status == 422)
            let redrawn = try await tmux.wait("top redraws with the new call") { $0.contains("7 since start") }
            #expect(!redrawn.contains("6 since start"), "the old figure is overwritten, not scrolled: \(redrawn)")
            #expect(redrawn.components(separatedBy: "slowest tools").count == 2, "one screen, drawn once")

            try await tmux.run(["send-keys", "-t", "top", "q"])
            let after = try await tmux.wait("top quits on q") { $0.contains("TOP-EXITED 0") }
            #expect(!after.contains("slowest tools"), "the alternate screen is gone: \(after)")
            // Echo is back: typed text shows on the terminal again.
            try await tmux.run(["send-keys", "-t", "top", "echoed-again"])
            try await tmux.wait("the terminal echoes again") { $0.contains("echoed-again") }
        }
    }

    @Test func ctrlCEndsTopAndRestoresTheTerminal() async throws {
        try await Self.withTopOnATerminal { _, tmux in
            try await tmux.wait("top shows the daemon") { $0.contains("slowest tools") }
            try await tmux.run(["send-keys", "-t", "top", "C-c"])
            let after = try await tmux.wait("top quits on Ctrl-C") { $0.contains("TOP-EXITED") }
            #expect(after.contains("TOP-EXITED 0"), "\(after)")
            #expect(!after.contains("slowest tools"), "the alternate screen is gone: \(after)")
        }
    }

    @Test func withoutATerminalTopPrintsOneSnapshot() async throws {
        let server = try await InsightsTests.busyServer()
        do {
            let snapshot = try await Fixtures.run(
                ServerFixtures.binary, ["top", "--url", "http://127.0.0.1:\(server.port)"])
            #expect(snapshot.status == 0, "\(snapshot.stderr)")
            #expect(snapshot.stdout.contains("probe.sleep"))
            #expect(!snapshot.stdout.contains("\u{1B}["), "no terminal control sequences in a pipe")
            let unreachable = try await Fixtures.run(ServerFixtures.binary, ["top", "--url", "http://127.0.0.1:1"])
            #expect(unreachable.status == 1)
            #expect(unreachable.stderr.contains("cannot connect"))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
