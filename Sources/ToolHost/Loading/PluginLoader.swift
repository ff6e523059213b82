import CToolHost
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Opens a plugin's library and brings it up: sha256, a private copy, dlopen, the ABI check, init, and
/// the check that the library registers exactly the tools its manifest declares.
///
/// Everything here blocks and runs plugin code (init), so it runs on the host's own threads.
struct PluginLoader: Sendable {
    let store: LibraryStore
    let logger: Logger

    /// What the loader knows about a library file before opening it.
    struct Inspection: Sendable {
        let path: String
        let bytes: [UInt8]
        let sha256: String
    }

    /// Reads the library and checks what can be checked without opening it: presence, sha256, ELF header.
    func inspect(manifest: PluginManifest, directory: String) throws(ToolError) -> Inspection {
        let path = directory + "/" + manifest.library.file
        let prefix = "plugin '\(manifest.name)': library \(path)"
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ToolError(
                .pluginUnavailable,
                exists
                    ? "\(prefix) cannot be read: check its permissions"
                    : "\(prefix) does not exist: build it and copy it beside manifest.json, or fix \"library.file\"")
        }
        let bytes = Array(data)
        let sha256 = LibraryStore.sha256(bytes)
        if let expected = manifest.library.sha256, expected != sha256 {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix): sha256 mismatch (manifest \(expected.prefix(12))…, file \(sha256.prefix(12))…): "
                    + "the file is incomplete or was changed after the manifest was written; copy it again, "
                    + "or update library.sha256 if the change is intended")
        }
        do {
            _ = try ELFHeader(bytes)
        } catch {
            throw ToolError(.pluginUnavailable, "\(prefix) is \(error.explanation)")
        }
        return Inspection(path: path, bytes: bytes, sha256: sha256)
    }

    /// Loads the plugin. Blocking; call it on a host thread.
    func load(manifest: PluginManifest, directory: String) throws(ToolError) -> LoadedPlugin {
        let inspection = try inspect(manifest: manifest, directory: directory)
        let name = manifest.name
        let prefix = "plugin '\(name)': library \(inspection.path)"
        let copy: String
        do {
            copy = try store.store(inspection.bytes, sha256: inspection.sha256, fileName: manifest.library.file)
        } catch {
            throw ToolError(.pluginUnavailable, "plugin '\(name)': cannot make a private copy of the library: \(error)")
        }
        _ = dlerror()
        guard let handle = dlopen(copy, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) could not be loaded: \(reason); check its dependencies with `ldd \(inspection.path)`")
        }
        // From here on the library is mapped and is never closed (see LoadedPlugin).
        guard let symbol = dlsym(handle, HostABI.entrySymbol) else {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) does not export '\(HostABI.entrySymbol)': define it with TOOLHOST_EXPORT (see "
                    + "plugin-sdk/include/toolhost/toolhost.h)")
        }
        typealias Entry = @convention(c) (UInt32, UInt32) -> UnsafePointer<toolhost_plugin_desc>?
        let entry = unsafeBitCast(symbol, to: Entry.self)
        guard let descriptor = entry(UInt32(HostABI.major), UInt32(HostABI.minor)) else {
            throw ToolError(.pluginUnavailable, "\(prefix): \(HostABI.entrySymbol) returned NULL")
        }
        // The version fields come first in every version of the struct; check them before anything else.
        let major = Int(descriptor.pointee.abi_major)
        let minor = Int(descriptor.pointee.abi_minor)
        if major != HostABI.major {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) was built for ABI \(major).\(minor), this host speaks \(HostABI.major).\(HostABI.minor): "
                    + "rebuild it against this host's toolhost.h")
        }
        if minor > HostABI.minor {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) needs ABI \(major).\(minor), newer than this host's \(HostABI.major).\(HostABI.minor): "
                    + "upgrade toolhost, or rebuild the plugin against the older header")
        }
        if manifest.abi.major != major || manifest.abi.minor != minor {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) reports ABI \(major).\(minor) but manifest.json says \(manifest.abi): make them agree")
        }
        let minimumSize = MemoryLayout<toolhost_plugin_desc>.size
        guard Int(descriptor.pointee.struct_size) >= minimumSize else {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix): toolhost_plugin_desc.struct_size is \(descriptor.pointee.struct_size), expected at "
                    + "least \(minimumSize): set it to sizeof(toolhost_plugin_desc)")
        }
        let reportedName = descriptor.pointee.name.map { String(cString: $0) } ?? ""
        let reportedVersion = descriptor.pointee.version.map { String(cString: $0) } ?? ""
        if reportedName != manifest.name || reportedVersion != manifest.version {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) says it is '\(reportedName)' \(reportedVersion) but manifest.json says "
                    + "'\(manifest.name)' \(manifest.version): make them agree")
        }
        guard let initialize = descriptor.pointee.`init` else {
            throw ToolError(.pluginUnavailable, "\(prefix): toolhost_plugin_desc.init is NULL")
        }

        var pluginLogger = logger
        pluginLogger[metadataKey: "plugin.name"] = "\(name)"
        let table = HostFunctions.makeTable(logger: pluginLogger)
        let registration = Registration(pluginName: name)
        var registrar = toolhost_registrar(
            struct_size: UInt32(MemoryLayout<toolhost_registrar>.size), reserved: 0,
            host_data: Unmanaged.passUnretained(registration).toOpaque(),
            register_tool: Registration.registerTool)
        var state: UnsafeMutableRawPointer? = nil
        let status = withExtendedLifetime(registration) { initialize(table, &registrar, &state) }
        registration.closed = true
        if status != Int32(TOOLHOST_OK.rawValue) {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix): init failed with status \(status); see the plugin's log lines above for why")
        }
        var problems = registration.problems
        let declared = Set(manifest.tools.map(\.name))
        let registered = Set(registration.tools.map(\.name))
        let undeclared = registered.subtracting(declared).sorted()
        let missing = declared.subtracting(registered).sorted()
        if !undeclared.isEmpty {
            problems.append(
                "the library registers tools manifest.json does not declare: \(undeclared.joined(separator: ", "))")
        }
        if !missing.isEmpty {
            problems.append(
                "manifest.json declares tools the library does not register: \(missing.joined(separator: ", "))")
        }
        if !problems.isEmpty {
            descriptor.pointee.deinit?(state)
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) was refused: " + problems.joined(separator: "; ")
                    + "; make the manifest and the registration agree")
        }
        var tools: [String: RegisteredTool] = [:]
        for tool in registration.tools { tools[tool.name] = tool }
        pluginLogger.debug(
            "plugin loaded",
            metadata: ["library.sha256": "\(inspection.sha256)", "library.copy": "\(copy)", "tools": "\(tools.count)"])
        return LoadedPlugin(
            manifest: manifest, libraryPath: copy, sha256: inspection.sha256, handle: handle, hostTable: table,
            pluginState: state, tools: tools, logger: pluginLogger)
    }
}

/// Collects the tools a plugin registers during init.
private final class Registration {
    let pluginName: String
    var tools: [RegisteredTool] = []
    var problems: [String] = []
    var closed = false

    init(pluginName: String) { self.pluginName = pluginName }

    static let registerTool:
        @convention(c) (UnsafePointer<toolhost_registrar>?, UnsafePointer<toolhost_tool_desc>?)
            -> Int32 = { registrar, descriptor in
                guard let registrar, let data = registrar.pointee.host_data else { return -1 }
                let registration = Unmanaged<Registration>.fromOpaque(data).takeUnretainedValue()
                return registration.add(descriptor)
            }

    func add(_ descriptor: UnsafePointer<toolhost_tool_desc>?) -> Int32 {
        guard !closed else { return -1 }
        guard let descriptor else {
            problems.append("register_tool was called with NULL")
            return -1
        }
        let size = Int(descriptor.pointee.struct_size)
        guard size >= MemoryLayout<toolhost_tool_desc>.size else {
            problems.append(
                "a tool descriptor has struct_size \(size), expected sizeof(toolhost_tool_desc) = "
                    + "\(MemoryLayout<toolhost_tool_desc>.size)")
            return -1
        }
        guard let cName = descriptor.pointee.name else {
            problems.append("a tool was registered without a name")
            return -1
        }
        let name = String(cString: cName)
        guard let handler = descriptor.pointee.handler else {
            problems.append("tool '\(name)' was registered without a handler")
            return -1
        }
        if tools.contains(where: { $0.name == name }) {
            problems.append("tool '\(name)' is registered twice")
            return -1
        }
        tools.append(
            RegisteredTool(
                name: name, cName: strdup(cName), handler: handler, toolState: descriptor.pointee.tool_state,
                threadSafe: descriptor.pointee.flags & UInt32(TOOLHOST_TOOL_THREAD_SAFE) != 0))
        return 0
    }
}
