import Foundation
import Synchronization
import ToolHostJSON

/// A tool the registry can route calls to. A class: every call takes one from the registry, and copying the
/// manifest and schema out each time would cost a retain per field.
final class ToolEntry: Sendable {
    /// `<plugin>.<tool>`.
    let fullName: String
    let record: PluginRecord
    let manifest: ToolManifest
    let schema: JSONSchema
    /// Lookups the pipeline made for this tool once and keeps.
    let resolved = ResolvedTool()

    init(fullName: String, record: PluginRecord, manifest: ToolManifest, schema: JSONSchema) {
        self.fullName = fullName
        self.record = record
        self.manifest = manifest
        self.schema = schema
    }
}

/// A plugin directory that could not be listed, and why.
public struct PluginProblem: Sendable, Hashable, CustomStringConvertible {
    /// The plugin directory.
    public var directory: String
    /// Everything wrong, each with a fix.
    public var problems: [ManifestError.Problem]
    public var description: String {
        "\(directory): " + problems.map(\.description).joined(separator: "; ")
    }
}

/// The plugins and tools found in the plugins directory. Reads manifests only; libraries are opened on
/// first use by their `PluginRecord`.
final class Registry: Sendable {
    struct Snapshot: Sendable {
        var plugins: [PluginRecord] = []
        var tools: [String: ToolEntry] = [:]
        var problems: [PluginProblem] = []
    }

    let pluginsDirectory: String
    private let current = Mutex(Snapshot())

    init(pluginsDirectory: String) {
        self.pluginsDirectory = pluginsDirectory
    }

    var snapshot: Snapshot { current.withLock { $0 } }

    func tool(named name: String) -> ToolEntry? {
        current.withLock { $0.tools[name] }
    }

    /// Reads every plugin directory again. A plugin whose manifest did not change keeps its record (and
    /// its loaded library); a changed one gets a new record.
    @discardableResult
    func rescan() -> Snapshot {
        let previous = snapshot
        var byDirectory: [String: PluginRecord] = [:]
        for record in previous.plugins { byDirectory[record.directory] = record }
        var next = Snapshot()
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: pluginsDirectory).sorted()
        } catch {
            let exists = FileManager.default.fileExists(atPath: pluginsDirectory)
            next.problems.append(
                PluginProblem(
                    directory: pluginsDirectory,
                    problems: [
                        .init(
                            path: "",
                            message: exists
                                ? "cannot read the plugins directory" : "the plugins directory does not exist",
                            hint: "create it, or point --plugins (or TOOLHOST_PLUGINS) at the directory holding the "
                                + "plugin folders")
                    ]))
            current.withLock { $0 = next }
            return next
        }
        var seenNames: [String: String] = [:]
        for name in names where !name.hasPrefix(".") {
            let directory = pluginsDirectory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else { continue }
            let record: PluginRecord
            do {
                record = try makeRecord(directory: directory, reusing: byDirectory[directory])
            } catch {
                next.problems.append(PluginProblem(directory: directory, problems: error.problems))
                continue
            }
            if let other = seenNames[record.manifest.name] {
                next.problems.append(
                    PluginProblem(
                        directory: directory,
                        problems: [
                            .init(
                                path: "/name",
                                message: "plugin name '\(record.manifest.name)' is already used by \(other)",
                                hint: "give each plugin its own name, or remove one of the two directories")
                        ]))
                continue
            }
            seenNames[record.manifest.name] = directory
            next.plugins.append(record)
            for tool in record.manifest.tools {
                // The schema compiled when the manifest was checked; compile again to keep it.
                guard let schema = try? JSONSchema(tool.inputSchema) else { continue }
                let fullName = record.manifest.name + "." + tool.name
                next.tools[fullName] = ToolEntry(fullName: fullName, record: record, manifest: tool, schema: schema)
            }
        }
        current.withLock { $0 = next }
        return next
    }

    private func makeRecord(directory: String, reusing previous: PluginRecord?) throws(ManifestError) -> PluginRecord {
        let path = directory + "/" + PluginManifest.fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            _ = try PluginManifest.load(directory: directory)  // throws the precise reason
            throw ManifestError(file: path, problems: [])
        }
        let bytes = Array(data)
        let digest = LibraryStore.sha256(bytes)
        if let previous, previous.manifestDigest == digest { return previous }
        let manifest = try PluginManifest.parse(bytes, file: path)
        return PluginRecord(directory: directory, manifest: manifest, manifestDigest: digest)
    }
}
