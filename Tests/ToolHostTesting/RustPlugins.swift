import Foundation
import Synchronization
import Testing

extension Fixtures {
    /// `cargo` on PATH (or in ~/.cargo/bin, where rustup puts it), or nil: the Rust plugin tests are then skipped
    /// with a message naming the fix. `.ci/run` refuses to run without it, so CI never skips them.
    package static let cargo: String? = {
        let environment = ProcessInfo.processInfo.environment
        var directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        if let home = environment["HOME"] { directories.append(home + "/.cargo/bin") }
        return directories.map { $0 + "/cargo" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Why the Rust tests are skipped, for `.enabled(if:)`.
    package static let cargoMissing: Comment =
        "SKIPPED: cargo is not on PATH, so the Rust SDK and Plugins/rustkit are not tested; install Rust (rustup)"

    private static let rustBuilds = Mutex<[String: Task<String, any Error>]>([:])

    /// Builds the bundled Rust plugin `Plugins/<name>` as `.ci/run` and `scripts/stage-plugins.sh` do
    /// (`cargo build --release --offline`), once per test process.
    /// - Returns: the path of its shared library.
    package static func buildRustPlugin(_ name: String) async throws -> String {
        guard let cargo else { throw FixtureError("cargo is not on PATH") }
        let task = rustBuilds.withLock { builds in
            if let existing = builds[name] { return existing }
            let task = Task<String, any Error> {
                let directory = root + "/Plugins/" + name
                let result = try await run(
                    cargo, ["build", "--release", "--offline", "--quiet", "--manifest-path", directory + "/Cargo.toml"])
                guard result.status == 0 else { throw FixtureError("cargo build failed for \(name): \(result.stderr)") }
                return directory + "/target/release/lib\(name).so"
            }
            builds[name] = task
            return task
        }
        return try await task.value
    }

    /// A plugins directory holding the bundled Rust plugin `name` (its manifest from Plugins/, the library cargo
    /// built).
    package static func installRustPlugin(_ name: String) async throws -> String {
        let plugins = temporaryDirectory("toolhost-rust")
        let manifest = try String(contentsOfFile: root + "/Plugins/\(name)/manifest.json", encoding: .utf8)
        try install(
            in: plugins, folder: name, manifest: try .parse(manifest), libraryFrom: try await buildRustPlugin(name),
            libraryName: "lib\(name).so")
        return plugins
    }
}
