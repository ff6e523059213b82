import Logging

/// `toolhost check`: everything the host would refuse about a plugin directory, found before shipping.
public enum PluginCheck {
    /// What the check found.
    public struct Report: Sendable {
        /// Each problem, with what to do about it. Empty when the plugin is fine.
        public var problems: [String]
        /// One line describing the plugin when it loaded.
        public var summary: String
    }

    /// Checks the manifest, then loads the library for real (in this process, on a host thread).
    /// - Parameters:
    ///   - directory: the plugin directory.
    ///   - logger: receives the plugin's own log lines.
    ///   - libraryStore: where the private copy goes (default: `LibraryStore.defaultDirectory`).
    ///   - allowedSystemLibraries: the system libraries a manifest-only plugin may open.
    public static func run(
        directory: String, logger: Logger, libraryStore: String? = nil,
        allowedSystemLibraries: Set<String> = ToolHost.Configuration.defaultAllowedSystemLibraries
    ) async -> Report {
        let manifest: PluginManifest
        do {
            manifest = try PluginManifest.load(directory: directory)
        } catch {
            return Report(problems: error.problems.map { "\(error.file): \($0)" }, summary: "")
        }
        let loader = PluginLoader(
            store: LibraryStore(directory: libraryStore ?? LibraryStore.defaultDirectory), logger: logger,
            allowedSystemLibraries: allowedSystemLibraries)
        let reply = OneShot<Result<LoadedPlugin, ToolError>>()
        let result = await reply.wait {
            PluginThreadPool(name: "toolhost-check", idleTimeout: .seconds(1), spin: .zero).submit {
                do throws(ToolError) {
                    reply.reply(.success(try loader.load(manifest: manifest, directory: directory)))
                } catch {
                    reply.reply(.failure(error))
                }
            }
        }
        switch result {
        case .success(let plugin):
            let tools = plugin.tools.values.sorted { $0.name < $1.name }.map { tool in
                var text = tool.name
                if case .native(let function) = tool.kind { text += " [\(function.signature)]" }
                if !tool.threadSafe { text += " (not thread-safe: calls run one at a time)" }
                return text
            }
            return Report(
                problems: [],
                summary: "plugin '\(manifest.name)' \(manifest.version), ABI \(manifest.abi), "
                    + (manifest.library.isSystem
                        ? "system library \(manifest.library.file)" : "library sha256 \(plugin.sha256)")
                    + ", \(tools.count) tool\(tools.count == 1 ? "" : "s"): "
                    + tools.joined(separator: ", "))
        case .failure(let error):
            return Report(problems: [error.message], summary: "")
        }
    }
}
