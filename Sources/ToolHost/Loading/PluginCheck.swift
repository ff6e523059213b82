import Foundation
import Logging

/// `toolhost check`: everything the host would refuse about a plugin directory, found before shipping.
public enum PluginCheck {
    /// What the check found.
    public struct Report: Sendable {
        /// Each problem, with what to do about it. Empty when the plugin is fine.
        public var problems: [String]
        /// One line describing the plugin when it loaded.
        public var summary: String
        /// What loads but should not be left so: an unsafe folder (files anyone may change, a library linked from
        /// elsewhere). Problems under `strictFilePermissions`.
        public var warnings: [String] = []
        /// The answers of the one-off calls (`check --call`), one line each: the tool, its arguments, the result.
        public var answers: [String] = []
    }

    /// Checks the manifest, then loads the library for real: first in a worker process (when `workerExecutable` is
    /// given), so that an init that crashes or hangs is reported instead of taking the check down with it; then in
    /// this process, on a host thread, for the details of each tool.
    /// - Parameters:
    ///   - directory: the plugin directory.
    ///   - logger: receives the plugin's own log lines.
    ///   - libraryStore: where the private copy goes (default: `LibraryStore.defaultDirectory`).
    ///   - allowedSystemLibraries: the system libraries a manifest-only plugin may open.
    ///   - workerExecutable: the `toolhost` binary that runs `toolhost worker`; nil: load in this process only.
    ///   - strictFilePermissions: report an unsafe folder as a problem instead of a warning.
    ///   - signatures: under `require`, a plugin not signed by a trusted key is a problem; under `warn`, a warning.
    ///   - calls: one-off calls to make after the examples (`check --call TOOL JSON`); needs `workerExecutable`.
    /// - Returns: the report; with `workerExecutable`, each tool's manifest `examples` and the one-off `calls` were
    ///   run in worker processes (see `runExamples`).
    public static func run(
        directory: String, logger: Logger, libraryStore: String? = nil,
        allowedSystemLibraries: Set<String> = ToolHost.Configuration.defaultAllowedSystemLibraries,
        workerExecutable: String? = nil, strictFilePermissions: Bool = false,
        signatures: ToolHost.Configuration.Signatures = .init(), calls: [OneOffCall] = []
    ) async -> Report {
        let manifest: PluginManifest
        do {
            manifest = try PluginManifest.load(directory: directory)
        } catch {
            return Report(problems: error.problems.map { "\(error.file): \($0)" }, summary: "")
        }
        var report = await loadAndDescribe(
            manifest, directory: directory, logger: logger, libraryStore: libraryStore,
            allowedSystemLibraries: allowedSystemLibraries, workerExecutable: workerExecutable)
        if report.problems.isEmpty, let workerExecutable {
            let run = await runExamples(
                manifest, directory: directory, logger: logger, libraryStore: libraryStore,
                allowedSystemLibraries: allowedSystemLibraries, workerExecutable: workerExecutable, oneOff: calls)
            report.problems += run.problems
            report.answers = run.answers
            if run.examples > 0, run.examplesFailed == 0 {
                report.summary += "; \(run.examples) example\(run.examples == 1 ? "" : "s") answered as declared"
            }
        }
        let unsafe = PluginFolderSafety.findings(directory: directory, manifest: manifest)
        if strictFilePermissions {
            report.problems = unsafe.map { "refused (strictFilePermissions): \($0)" } + report.problems
        } else {
            report.warnings = unsafe + report.warnings
        }
        checkSignature(manifest, directory: directory, signatures: signatures, into: &report)
        report.problems += capabilityConflicts(manifest, directory: directory).map(\.description)
        return report
    }

    /// The capabilities this plugin provides with an input schema that differs from that of another plugin's
    /// provider in the same plugins directory (the folder's parent): served together, one of the two would not be
    /// added as a provider.
    static func capabilityConflicts(_ manifest: PluginManifest, directory: String) -> [CapabilityConflict] {
        let provided = manifest.tools.filter { !$0.provides.isEmpty }
        guard !provided.isEmpty else { return [] }
        let own = URL(fileURLWithPath: directory).standardizedFileURL
        let parent = own.deletingLastPathComponent()
        let siblings = (try? FileManager.default.contentsOfDirectory(atPath: parent.path).sorted()) ?? []
        var conflicts: [CapabilityConflict] = []
        for sibling in siblings where !sibling.hasPrefix(".") && sibling != own.lastPathComponent {
            guard let other = try? PluginManifest.load(directory: parent.appendingPathComponent(sibling).path),
                other.name != manifest.name
            else { continue }
            for tool in provided {
                for capability in tool.provides {
                    guard
                        let theirs = other.tools.first(where: { $0.provides.contains(capability) }),
                        let difference = CapabilityConflict.schemaDifference(theirs.inputSchema, tool.inputSchema)
                    else { continue }
                    conflicts.append(
                        CapabilityConflict(
                            capability: capability, tool: manifest.name + "." + tool.name,
                            provider: other.name + "." + theirs.name, difference: difference))
                }
            }
        }
        return conflicts
    }

    /// Adds the signature's state to the report: a problem under `require`, a warning under `warn`, the key in the
    /// summary when it verifies. The loads above run with signatures off, so that every other problem is found too.
    private static func checkSignature(
        _ manifest: PluginManifest, directory: String, signatures: ToolHost.Configuration.Signatures,
        into report: inout Report
    ) {
        guard signatures.mode != .off else { return }
        var librarySHA256: String? = nil
        if !manifest.library.isSystem {
            // A library that cannot be read is a problem reported by the load already.
            guard let library = FileManager.default.contents(atPath: directory + "/" + manifest.library.file) else {
                return
            }
            librarySHA256 = LibraryStore.sha256(Array(library))
        }
        let trust = TrustStore(directory: signatures.trustedKeysDirectory)
        let verdict = PluginSignature.verify(
            directory: directory, manifest: manifest.text, librarySHA256: librarySHA256, trust: trust)
        if let reason = PluginSignature.reason(verdict, directory: directory, trust: trust) {
            if signatures.mode == .require {
                report.problems.insert("refused (signatures: require): plugin '\(manifest.name)' \(reason)", at: 0)
            } else {
                report.warnings.append("signatures: plugin '\(manifest.name)' \(reason)")
            }
        } else if case .verified(let keyID) = verdict, !report.summary.isEmpty {
            report.summary += "; signed by trusted key \(keyID)"
        }
    }

    private static func loadAndDescribe(
        _ manifest: PluginManifest, directory: String, logger: Logger, libraryStore: String?,
        allowedSystemLibraries: Set<String>, workerExecutable: String?
    ) async -> Report {
        let store = LibraryStore(directory: libraryStore ?? LibraryStore.defaultDirectory)
        if let workerExecutable {
            var isolation = ToolHost.Configuration.Isolation()
            isolation.mode = .process
            isolation.workerExecutable = workerExecutable
            var loader = PluginLoader(
                store: store, logger: logger, allowedSystemLibraries: allowedSystemLibraries, isolation: isolation)
            loader.checksFolderSafety = false
            let trial = await load(manifest, directory: directory, with: loader)
            switch trial {
            case .success(let plugin):
                plugin.workers?.shutdown()
            case .failure(let error):
                // "plugin 'x' (process isolation): a worker died while loading the plugin (killed by signal 11…)".
                let prefix = "plugin '\(manifest.name)' (process isolation): "
                let message =
                    error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message
                return Report(problems: [message], summary: "")
            }
        }
        var loader = PluginLoader(store: store, logger: logger, allowedSystemLibraries: allowedSystemLibraries)
        loader.checksFolderSafety = false
        let result = await load(manifest, directory: directory, with: loader)
        switch result {
        case .success(let plugin):
            let tools = plugin.tools.values.sorted { $0.name < $1.name }.map { tool in
                var text = tool.name
                if case .native(let function) = tool.kind { text += " [\(function.signature)]" }
                if !tool.threadSafe { text += " (not thread-safe: calls run one at a time)" }
                return text
            }
            // Policies the manifest asks for that cannot apply to the tools as the library registered them.
            let inapplicable = manifest.tools.flatMap { tool in
                tool.inapplicablePolicies(threadSafe: plugin.tools[tool.name]?.threadSafe ?? tool.declaredThreadSafe)
            }
            return Report(
                problems: [],
                summary: "plugin '\(manifest.name)' \(manifest.version), ABI \(manifest.abi), "
                    + (manifest.library.isSystem
                        ? "system library \(manifest.library.file)" : "library sha256 \(plugin.sha256)")
                    + ", \(tools.count) tool\(tools.count == 1 ? "" : "s"): "
                    + tools.joined(separator: ", "), warnings: inapplicable)
        case .failure(let error):
            return Report(problems: [error.message], summary: "")
        }
    }

    /// Loads the plugin on a thread of its own (the load blocks; never on the cooperative pool).
    private static func load(
        _ manifest: PluginManifest, directory: String, with loader: PluginLoader
    ) async -> Result<LoadedPlugin, ToolError> {
        let reply = OneShot<Result<LoadedPlugin, ToolError>>()
        return await reply.wait {
            PluginThreadPool(name: "toolhost-check", idleTimeout: .seconds(1), spin: .zero).submit {
                do throws(ToolError) {
                    reply.reply(.success(try loader.load(manifest: manifest, directory: directory)))
                } catch {
                    reply.reply(.failure(error))
                }
            }
        }
    }
}
