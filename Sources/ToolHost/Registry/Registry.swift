import Foundation
import Glibc
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

/// A capability and the tools that provide it, in the order the registry met them.
final class CapabilityEntry: Sendable {
    let name: String
    /// Never empty; every provider's input schema equals the first's.
    let providers: [ToolEntry]

    init(name: String, providers: [ToolEntry]) {
        self.name = name
        self.providers = providers
    }
}

/// A plugin directory that could not be listed, and why.
public struct PluginProblem: Sendable, Hashable, CustomStringConvertible {
    /// The plugin directory.
    public var directory: String
    /// Everything wrong, each with a fix.
    public var problems: [ManifestError.Problem]
    /// The plugin name the folder's manifest declares, when it could be read that far (so a call of one of its
    /// tools can say why the plugin is missing even when the folder is named otherwise).
    public var declaredName: String? = nil
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
        /// Per plugin directory: why the newer version found there is not serving (its manifest is invalid or its
        /// library failed to load) while the previous version goes on serving.
        var rejected: [String: ToolError] = [:]
        /// Per plugin directory: the identity of the rejected version, so an unchanged one is not loaded again.
        var rejectedIdentity: [String: String] = [:]
        /// Every capability some tool provides, with its providers.
        var capabilities: [String: CapabilityEntry] = [:]
        /// Tools refused as providers of a capability (their schema disagrees with the first provider's).
        var capabilityConflicts: [CapabilityConflict] = []
    }

    /// The snapshot, and the entry the last lookup found: a caller that calls one tool again and again compares
    /// the name instead of hashing it (replaced with the snapshot).
    private struct Current {
        var snapshot = Snapshot()
        var lastName = ""
        var lastEntry: ToolEntry?
    }

    let pluginsDirectory: String
    private let current = Mutex(Current())
    /// One rescan at a time (rescans may open libraries; they run on host threads).
    private let rescanning = ConditionLock()

    init(pluginsDirectory: String) {
        self.pluginsDirectory = pluginsDirectory
    }

    var snapshot: Snapshot { current.withLock { $0.snapshot } }

    /// The capability `name` and its providers (without copying the snapshot out).
    func capability(named name: String) -> CapabilityEntry? {
        current.withLock { $0.snapshot.capabilities[name] }
    }

    func tool(named name: String) -> ToolEntry? {
        current.withLock { current in
            if let last = current.lastEntry, current.lastName == name { return last }
            let entry = current.snapshot.tools[name]
            if let entry {
                current.lastName = name
                current.lastEntry = entry
            }
            return entry
        }
    }

    /// Reads every plugin directory again. A plugin whose manifest and library did not change keeps its record
    /// (and its loaded library); a changed one gets a new record, a new generation beside the old one: calls
    /// already running finish on the old one.
    ///
    /// When the new manifest of a plugin that was serving is invalid, or `load` says the new generation failed,
    /// the previous record goes on serving and the failure is kept in `rejected`.
    /// - Parameter load: opens a new record's library before it is published (nil: libraries open on first use);
    ///   returns the error when it failed. Blocking: called on the calling thread.
    @discardableResult
    func rescan(load: ((PluginRecord) -> ToolError?)? = nil) -> Snapshot {
        rescanning.lock()
        defer { rescanning.unlock() }
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
            current.withLock { $0 = Current(snapshot: next) }
            return next
        }
        // The folders that served a plugin go first: the plugin already serving keeps its name, and a newcomer
        // claiming it (a backup copy that sorts first, an impostor) is refused rather than taking it over.
        let serving = Set(previous.plugins.map(\.directory))
        let ordered =
            names.filter { serving.contains(pluginsDirectory + "/" + $0) }
            + names.filter { !serving.contains(pluginsDirectory + "/" + $0) }
        var seenNames: [String: String] = [:]
        for name in ordered where !name.hasPrefix(".") {
            let directory = pluginsDirectory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else { continue }
            let old = byDirectory[directory]
            var record: PluginRecord
            do {
                record = try makeRecord(directory: directory, reusing: old)
            } catch {
                let problem = PluginProblem(
                    directory: directory, problems: error.problems, declaredName: Self.declaredName(in: directory))
                next.problems.append(problem)
                guard let old else { continue }
                next.rejected[directory] = ToolError(
                    .pluginUnavailable, "the new manifest is invalid, the previous version goes on serving: \(problem)")
                record = old
            }
            if let other = seenNames[record.manifest.name] {
                next.problems.append(
                    PluginProblem(
                        directory: directory,
                        problems: [
                            .init(
                                path: "/name",
                                message: "plugin name '\(record.manifest.name)' is already used by \(other), "
                                    + "which keeps it; this folder is not loaded",
                                hint: "give each plugin its own name, or remove one of the two directories")
                        ]))
                continue
            }
            seenNames[record.manifest.name] = directory
            if record !== old, let load {
                if let old {
                    // A new generation of a serving plugin replaces it only once it has loaded.
                    if previous.rejectedIdentity[directory] == record.identity, let error = previous.rejected[directory]
                    {
                        next.rejected[directory] = error
                        next.rejectedIdentity[directory] = record.identity
                        record = old
                    } else if let error = load(record) {
                        next.rejected[directory] = ToolError(
                            error.code,
                            "the new version failed to load, the previous version goes on serving: \(error.message)")
                        next.rejectedIdentity[directory] = record.identity
                        record = old
                    }
                } else {
                    _ = load(record)  // a new plugin is published even when it failed: its state says why
                }
            }
            next.plugins.append(record)
            for tool in record.manifest.tools {
                // The schema compiled when the manifest was checked; compile again to keep it.
                guard let schema = try? JSONSchema(tool.inputSchema) else { continue }
                let fullName = record.manifest.name + "." + tool.name
                next.tools[fullName] = ToolEntry(fullName: fullName, record: record, manifest: tool, schema: schema)
            }
        }
        (next.capabilities, next.capabilityConflicts) = Self.capabilities(of: next)
        current.withLock { $0 = Current(snapshot: next) }
        return next
    }

    /// The "name" of the manifest in `directory`, if it is JSON with a string there (the manifest may be invalid
    /// otherwise).
    private static func declaredName(in directory: String) -> String? {
        guard let bytes = try? PluginManifest.readBytes(directory + "/" + PluginManifest.fileName) else { return nil }
        return (try? JSONValue.parse(bytes))?["name"]?.stringValue
    }

    /// The providers of each capability, in the order the registry met them (plugins serving already first, then
    /// by folder name; tools in manifest order), and the tools refused because their input schema does not agree
    /// with the first provider's.
    private static func capabilities(of snapshot: Snapshot) -> ([String: CapabilityEntry], [CapabilityConflict]) {
        var providers: [String: [ToolEntry]] = [:]
        var order: [String] = []
        var conflicts: [CapabilityConflict] = []
        for record in snapshot.plugins {
            for tool in record.manifest.tools where !tool.provides.isEmpty {
                guard let entry = snapshot.tools[record.manifest.name + "." + tool.name] else { continue }
                for capability in tool.provides {
                    guard let first = providers[capability]?.first else {
                        providers[capability] = [entry]
                        order.append(capability)
                        continue
                    }
                    if let difference = CapabilityConflict.schemaDifference(
                        first.manifest.inputSchema, tool.inputSchema)
                    {
                        conflicts.append(
                            CapabilityConflict(
                                capability: capability, tool: entry.fullName, provider: first.fullName,
                                difference: difference))
                    } else {
                        providers[capability]?.append(entry)
                    }
                }
            }
        }
        var entries: [String: CapabilityEntry] = [:]
        for name in order { entries[name] = CapabilityEntry(name: name, providers: providers[name] ?? []) }
        return (entries, conflicts)
    }

    private func makeRecord(directory: String, reusing previous: PluginRecord?) throws(ManifestError) -> PluginRecord {
        let path = directory + "/" + PluginManifest.fileName
        let bytes = try PluginManifest.readBytes(path)
        // The manifest's bytes and the library file's identity: a library replaced under an unchanged manifest is
        // picked up when the manifest is written again (the manifest is the commit point).
        let digest = LibraryStore.sha256(bytes)
        // Equal manifest bytes name the same library file, so the previous manifest says where it is.
        if let previous,
            previous.identity == digest + libraryIdentity(directory: directory, manifest: previous.manifest)
        {
            return previous
        }
        let manifest = try PluginManifest.parse(bytes, file: path)
        return PluginRecord(
            directory: directory, manifest: manifest,
            identity: digest + libraryIdentity(directory: directory, manifest: manifest))
    }

    /// Device, inode, size and modification time of the plugin's library file (empty for a system library or a
    /// missing file).
    private func libraryIdentity(directory: String, manifest: PluginManifest) -> String {
        guard !manifest.library.isSystem else { return "" }
        var info = stat()
        guard stat(directory + "/" + manifest.library.file, &info) == 0 else { return "" }
        return ":\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }
}
