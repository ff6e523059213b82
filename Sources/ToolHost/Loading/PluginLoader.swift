import CToolHost
import Foundation
import Glibc
import Logging
import Metrics
import Synchronization

/// Opens a plugin's library and brings it up: sha256, the signature (``authenticate``), a private copy, dlopen, the
/// ABI check, init, and the check that the library registers exactly the tools its manifest declares.
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
        let header: ELFHeader
        do {
            header = try ELFHeader(bytes)
        } catch {
            throw ToolError(.pluginUnavailable, "\(prefix) is \(error.explanation)")
        }
        if header.hasStaticSwiftRuntime {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) contains Swift code with a Swift runtime of its own (built with -static-stdlib): a second "
                    + "Swift runtime in the host's process would crash it; build the plugin without -static-stdlib so "
                    + "it uses the host's runtime")
        }
        return Inspection(path: path, bytes: bytes, sha256: sha256)
    }

    /// The entry's name as a C++ compiler mangles it, when the library defines such a symbol (read only on the
    /// error path: the library is already open and its ELF header was checked).
    static func mangledEntry(in path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? ELFHeader(Array(data)))?.entryLookalikes.first { $0.hasPrefix("_Z") }
    }

    /// How plugins are isolated and their workers started.
    var isolation = ToolHost.Configuration.Isolation()
    /// The largest result a tool may write.
    var maxOutputBytes = 16 << 20

    /// Loads the plugin in the isolation its manifest and the operator ask for. Blocking; call it on a host
    /// thread. Counted in `toolhost_plugin_loads_total{plugin,outcome="loaded"|"failed"}`.
    func load(manifest: PluginManifest, directory: String) throws(ToolError) -> LoadedPlugin {
        do {
            let plugin = try loadPlugin(manifest: manifest, directory: directory)
            Counter(
                label: "toolhost_plugin_loads_total", dimensions: [("plugin", manifest.name), ("outcome", "loaded")]
            )
            .increment()
            return plugin
        } catch {
            Counter(
                label: "toolhost_plugin_loads_total", dimensions: [("plugin", manifest.name), ("outcome", "failed")]
            )
            .increment()
            throw error
        }
    }

    private func loadPlugin(manifest: PluginManifest, directory: String) throws(ToolError) -> LoadedPlugin {
        let unsafe = checksFolderSafety ? PluginFolderSafety.findings(directory: directory, manifest: manifest) : []
        if !unsafe.isEmpty {
            if strictFilePermissions {
                throw ToolError(
                    .pluginUnavailable,
                    "plugin '\(manifest.name)' is refused (strictFilePermissions): " + unsafe.joined(separator: "; "))
            }
            for finding in unsafe {
                logger.warning("unsafe plugin folder: \(finding)", metadata: ["plugin.name": "\(manifest.name)"])
            }
        }
        // A plugin's own library is authenticated in `commit`, over the bytes that are copied and opened.
        if manifest.library.isSystem { try authenticate(manifest: manifest, directory: directory, librarySHA256: nil) }
        let breaker = CircuitBreaker(policy: isolation.quarantine, now: isolation.quarantineClock)
        guard isolation.mode(for: manifest) == .process else {
            let plugin = try loadInProcess(manifest: manifest, directory: directory)
            return LoadedPlugin(
                manifest: plugin.manifest, libraryPath: plugin.libraryPath, sha256: plugin.sha256,
                handle: plugin.handle, hostTable: plugin.hostTable, pluginState: plugin.pluginState,
                tools: plugin.tools, logger: plugin.logger, breaker: breaker)
        }
        // The library is only ever opened in workers. The host commits the generation: it checks what it can
        // without opening the library and makes the private copy; every worker gets that copy, its sha256 and the
        // manifest text parsed here, and never reads the plugin folder (which may change under a serving generation).
        guard !manifest.text.isEmpty else {
            throw ToolError(
                .internal,
                "plugin '\(manifest.name)' (process isolation): its manifest was not parsed from text, so there is "
                    + "none to hand its workers; load it with PluginManifest.parse or PluginManifest.load")
        }
        let copy = manifest.library.isSystem ? nil : try commit(manifest: manifest, directory: directory)
        let memoryMB = isolation.memoryLimitMB ?? manifest.limits.memoryMB
        let cpuSeconds = isolation.cpuLimitSeconds ?? manifest.limits.cpuSeconds
        let launch = WorkerProcess.Launch(
            executable: isolation.workerExecutable ?? ToolHost.Configuration.Isolation.currentExecutable,
            pluginName: manifest.name, manifestText: manifest.text, library: copy,
            allowedSystemLibraries: allowedSystemLibraries, maxOutputBytes: maxOutputBytes,
            memoryLimitBytes: UInt64(memoryMB ?? 0) << 20, cpuLimitSeconds: UInt64(cpuSeconds ?? 0),
            startupTimeout: isolation.startupTimeout, sandbox: isolation.sandbox,
            cutNetwork: isolation.cutsNetwork(for: manifest))
        let prefix = "plugin '\(manifest.name)' (process isolation)"
        let (worker, registered): (WorkerProcess, [(name: String, threadSafe: Bool)])
        let sandbox: WorkerSandbox.Report
        do {
            (worker, registered, sandbox) = try WorkerProcess.start(launch)
        } catch {
            throw ToolError(.pluginUnavailable, "\(prefix): \(error.message)")
        }
        var tools: [String: RegisteredTool] = [:]
        for tool in registered {
            tools[tool.name] = RegisteredTool(
                name: tool.name, cName: strdup(tool.name), kind: .remote, toolState: nil, threadSafe: tool.threadSafe)
        }
        var pluginLogger = logger
        pluginLogger[metadataKey: "plugin.name"] = "\(manifest.name)"
        pluginLogger.debug(
            "plugin loaded in a worker",
            metadata: ["worker.pid": "\(worker.pid)", "worker.sandbox": "\(sandbox.applied.joined(separator: ", "))"])
        // Every worker of the plugin runs on the same kernel with the same settings: the first one speaks for all.
        if !sandbox.notApplied.isEmpty {
            pluginLogger.warning(
                "the plugin's workers run without part of their sandbox",
                metadata: ["worker.sandbox.missing": "\(sandbox.notApplied.joined(separator: "; "))"])
        }
        return LoadedPlugin(
            manifest: manifest, libraryPath: copy?.path ?? manifest.library.file, sha256: copy?.sha256 ?? "",
            handle: nil, hostTable: nil,
            pluginState: nil, tools: tools, logger: pluginLogger,
            workers: WorkerPool(launch: launch, pluginName: manifest.name, first: worker), breaker: breaker)
    }

    /// The private copies this process has claimed for dlopen. Opening one again would give back its image, whose
    /// init already ran (the header promises one init per loaded image), so each in-process load claims a copy no
    /// load in this process has claimed: a new generation whose library bytes did not change (only its manifest
    /// did) gets a distinct copy and so a fresh image, and the serving generation's image is left alone. A claim is
    /// never given back: a load that failed after dlopen leaves its image mapped, perhaps initialised.
    private static let claimedImages = Mutex<Set<String>>([])

    /// Loads the plugin into this process. Blocking; call it on a host thread.
    func loadInProcess(manifest: PluginManifest, directory: String) throws(ToolError) -> LoadedPlugin {
        guard !manifest.library.isSystem else { return try open(manifest: manifest, copy: nil, shownAs: "") }
        let inspection = try inspect(manifest: manifest, directory: directory)
        try authenticate(manifest: manifest, directory: directory, librarySHA256: inspection.sha256)
        var instance = 0
        while !Self.claimedImages.withLock({
            $0.insert(store.path(sha256: inspection.sha256, fileName: manifest.library.file, instance: instance))
                .inserted
        }) {
            instance += 1
        }
        let copy = try commit(manifest: manifest, inspection: inspection, instance: instance)
        return try open(manifest: manifest, copy: copy, shownAs: directory + "/" + manifest.library.file)
    }

    /// Commits a generation's library: checks the plugin folder's file (`inspect`) and makes the private copy that
    /// every load of this generation opens, in this process or in its workers.
    func commit(manifest: PluginManifest, directory: String) throws(ToolError) -> LibraryStore.Copy {
        let inspection = try inspect(manifest: manifest, directory: directory)
        try authenticate(manifest: manifest, directory: directory, librarySHA256: inspection.sha256)
        return try commit(manifest: manifest, inspection: inspection, instance: 0)
    }

    /// Makes copy number `instance` of an inspected (and authenticated) library.
    private func commit(
        manifest: PluginManifest, inspection: Inspection, instance: Int
    ) throws(ToolError) -> LibraryStore.Copy {
        do {
            let path = try store.store(
                inspection.bytes, sha256: inspection.sha256, fileName: manifest.library.file, instance: instance)
            return LibraryStore.Copy(path: path, sha256: inspection.sha256)
        } catch {
            throw ToolError(
                .pluginUnavailable, "plugin '\(manifest.name)': cannot make a private copy of the library: \(error)")
        }
    }

    /// Checks the plugin's signature (``PluginSignature``) as `signatures.mode` asks, before its library is copied
    /// or opened: under `require` a plugin that is not signed by a key in the trust store is refused, under `warn`
    /// it is logged and loads.
    /// - Parameters:
    ///   - manifest: the parsed manifest; its text is what the signature must cover (the file when it has none).
    ///   - librarySHA256: the sha256 of the library bytes that will be used; nil for a system library.
    func authenticate(manifest: PluginManifest, directory: String, librarySHA256: String?) throws(ToolError) {
        guard signatures.mode != .off else { return }
        let trust = TrustStore(directory: signatures.trustedKeysDirectory)
        let text =
            manifest.text.isEmpty
            ? FileManager.default.contents(atPath: directory + "/" + PluginManifest.fileName).map(Array.init) ?? []
            : manifest.text
        let verdict = PluginSignature.verify(
            directory: directory, manifest: text, librarySHA256: librarySHA256, trust: trust)
        guard let reason = PluginSignature.reason(verdict, directory: directory, trust: trust) else {
            if case .verified(let keyID) = verdict {
                logger.debug(
                    "plugin signature verified", metadata: ["plugin.name": "\(manifest.name)", "key.id": "\(keyID)"])
            }
            return
        }
        if signatures.mode == .require {
            throw ToolError(
                .pluginUnavailable, "plugin '\(manifest.name)' is refused (signatures: require): it \(reason)")
        }
        logger.warning(
            "plugin '\(manifest.name)' \(reason); it loads anyway (signatures: warn)",
            metadata: ["plugin.name": "\(manifest.name)"])
    }

    /// Loads, in a worker process, the generation the host validated: the manifest the host parsed and the host's
    /// private copy of the library, checked against the sha256 the host computed. The plugin folder is never read.
    /// Blocking.
    /// - Parameter copy: the host's private copy (nil for a system library, opened by soname).
    func loadInWorker(manifest: PluginManifest, copy: LibraryStore.Copy?) throws(ToolError) -> LoadedPlugin {
        guard (copy == nil) == manifest.library.isSystem else {
            throw ToolError(
                .internal,
                "plugin '\(manifest.name)': the worker was started "
                    + (copy == nil ? "without a copy of the plugin's own library" : "with a copy of a system library"))
        }
        guard let copy else { return try open(manifest: manifest, copy: nil, shownAs: "") }
        let prefix = "plugin '\(manifest.name)': the host's private copy of the library, \(copy.path),"
        guard let data = FileManager.default.contents(atPath: copy.path) else {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) cannot be read: the library store was cleaned or changed while the host used it; restart "
                    + "the host, and clean the store only while no host runs")
        }
        let sha256 = LibraryStore.sha256(Array(data))
        guard sha256 == copy.sha256 else {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) does not match the generation the host validated (sha256 \(copy.sha256.prefix(12))…, "
                    + "file \(sha256.prefix(12))…): it was changed after the host copied it, so the worker refuses "
                    + "to run it; find what writes into the library store, and restart the host")
        }
        return try open(manifest: manifest, copy: copy, shownAs: copy.path)
    }

    /// Opens a library (the private copy, or a system library by soname when `copy` is nil), checks it against the
    /// manifest and runs its init.
    /// - Parameter shownAs: the library's path in messages.
    private func open(
        manifest: PluginManifest, copy: LibraryStore.Copy?, shownAs: String
    ) throws(ToolError) -> LoadedPlugin {
        let name = manifest.name
        var pluginLogger = logger
        pluginLogger[metadataKey: "plugin.name"] = "\(name)"
        let table = HostFunctions.makeTable(logger: pluginLogger)
        let handle: UnsafeMutableRawPointer
        let prefix: String
        let sha256: String
        let opened: String
        if let copy {
            prefix = "plugin '\(name)': library \(shownAs)"
            handle = try open(copy.path, prefix: prefix, hint: "check its dependencies with `ldd \(shownAs)`")
            sha256 = copy.sha256
            opened = copy.path
        } else {
            // A system library: opened by soname, only if the operator allows it; it has no entry.
            let soname = manifest.library.file
            prefix = "plugin '\(name)': system library \(soname)"
            guard allowedSystemLibraries.contains(soname) else {
                throw ToolError(
                    .pluginUnavailable,
                    "\(prefix) is not in the operator's allowlist (allowedSystemLibraries: "
                        + "\(allowedSystemLibraries.sorted().joined(separator: ", "))); an operator can add it, or the "
                        + "plugin can ship its own library as \"file\"")
            }
            handle = try open(soname, prefix: prefix, hint: "is the package that provides it installed?")
            sha256 = ""
            opened = soname
        }
        // From here on the library is mapped and is never closed (see LoadedPlugin).
        let entrySymbol = manifest.library.isSystem ? nil : dlsym(handle, HostABI.entrySymbol)
        var registration = Registration(pluginName: name)
        var state: UnsafeMutableRawPointer? = nil
        var deinitialize: (@convention(c) (UnsafeMutableRawPointer?) -> Void)? = nil
        if let entrySymbol {
            (state, deinitialize) = try initialize(
                entry: entrySymbol, manifest: manifest, table: table, registration: &registration, prefix: prefix)
        } else {
            let unbound = manifest.tools.filter { $0.native?.symbol == nil }.map(\.name)
            if !unbound.isEmpty, let copy, let mangled = Self.mangledEntry(in: copy.path) {
                throw ToolError(
                    .pluginUnavailable,
                    "\(prefix) exports the entry only under a C++ mangled name, '\(mangled)': add extern \"C\" to "
                        + "its definition and give it the header's parameters, toolhost_plugin_entry(uint32_t, "
                        + "uint32_t) (or include toolhost/toolhost.h, whose prototype gives it C linkage)")
            }
            if !unbound.isEmpty {
                throw ToolError(
                    .pluginUnavailable,
                    "\(prefix) does not export '\(HostABI.entrySymbol)': define it with TOOLHOST_EXPORT (see "
                        + "plugin-sdk/include/toolhost/toolhost.h), or, for a manifest-only plugin, give every tool a "
                        + "symbol and a signature (missing for: \(unbound.joined(separator: ", ")))")
            }
        }
        do {
            let tools = try bind(manifest: manifest, handle: handle, registration: registration, prefix: prefix)
            pluginLogger.debug(
                "plugin loaded",
                metadata: ["library.sha256": "\(sha256)", "library.opened": "\(opened)", "tools": "\(tools.count)"])
            return LoadedPlugin(
                manifest: manifest, libraryPath: opened, sha256: sha256, handle: handle, hostTable: table,
                pluginState: state, tools: tools, logger: pluginLogger)
        } catch {
            deinitialize?(state)
            throw error
        }
    }

    /// The operator's allowlist of system libraries a manifest-only plugin may name.
    var allowedSystemLibraries: Set<String> = ToolHost.Configuration.defaultAllowedSystemLibraries
    /// Refuse a plugin whose folder is unsafe (``PluginFolderSafety``) instead of warning.
    var strictFilePermissions = false
    /// Whether loads look at the folder's safety at all (`toolhost check` reports it itself).
    var checksFolderSafety = true
    /// Whether plugins must be signed by a trusted key (`toolhost check` sets `off` and reports it itself).
    var signatures = ToolHost.Configuration.Signatures()

    init(
        store: LibraryStore, logger: Logger, allowedSystemLibraries: Set<String>? = nil,
        isolation: ToolHost.Configuration.Isolation? = nil, maxOutputBytes: Int? = nil,
        strictFilePermissions: Bool = false, signatures: ToolHost.Configuration.Signatures? = nil
    ) {
        self.store = store
        self.logger = logger
        self.strictFilePermissions = strictFilePermissions
        if let signatures { self.signatures = signatures }
        if let allowedSystemLibraries { self.allowedSystemLibraries = allowedSystemLibraries }
        if let isolation { self.isolation = isolation }
        if let maxOutputBytes { self.maxOutputBytes = maxOutputBytes }
    }

    private func open(_ path: String, prefix: String, hint: String) throws(ToolError) -> UnsafeMutableRawPointer {
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw ToolError(.pluginUnavailable, "\(prefix) could not be loaded: \(reason); \(hint)")
        }
        return handle
    }

    /// Calls the entry, checks the ABI and the identity, and runs init.
    private func initialize(
        entry symbol: UnsafeMutableRawPointer, manifest: PluginManifest, table: UnsafeMutablePointer<toolhost_host_api>,
        registration: inout Registration, prefix: String
    ) throws(ToolError) -> (UnsafeMutableRawPointer?, (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) {
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
        if manifest.abi.major != major {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) reports ABI \(major).\(minor) but manifest.json says \(manifest.abi): make the majors agree")
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
        var registrar = toolhost_registrar(
            struct_size: UInt32(MemoryLayout<toolhost_registrar>.size), reserved: 0,
            host_data: Unmanaged.passUnretained(registration).toOpaque(),
            register_tool: Registration.registerTool, register_function: Registration.registerFunction)
        var state: UnsafeMutableRawPointer? = nil
        let status = withExtendedLifetime(registration) { initialize(table, &registrar, &state) }
        registration.closed = true
        if status != Int32(TOOLHOST_OK.rawValue) {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix): init failed with status \(status); see the plugin's log lines above for why")
        }
        return (state, descriptor.pointee.deinit)
    }

    /// Matches the manifest's tools with what the library registered or exports.
    private func bind(
        manifest: PluginManifest, handle: UnsafeMutableRawPointer, registration: Registration, prefix: String
    ) throws(ToolError) -> [String: RegisteredTool] {
        var problems = registration.problems
        var tools: [String: RegisteredTool] = [:]
        let byRegistration = manifest.tools.filter { $0.native?.symbol == nil }
        let declared = Set(byRegistration.map(\.name))
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
        for tool in registration.tools {
            guard let declaredTool = byRegistration.first(where: { $0.name == tool.name }) else { continue }
            switch (tool.kind, declaredTool.native) {
            case (.json, nil):
                tools[tool.name] = tool
            case (.native(let function), let native?):
                if function.signature != native.signature {
                    problems.append(
                        "tool '\(tool.name)' is registered as '\(function.signature)' but manifest.json says "
                            + "'\(native.signature)'")
                } else {
                    tools[tool.name] = tool
                }
            case (.json, .some):
                problems.append(
                    "tool '\(tool.name)' has a signature in manifest.json but is registered as a JSON handler")
            case (.native, nil):
                problems.append(
                    "tool '\(tool.name)' is registered as a typed function but manifest.json gives it no signature")
            case (.remote, _):
                break
            }
        }
        for tool in manifest.tools {
            guard let native = tool.native, let symbol = native.symbol else { continue }
            guard let address = dlsym(handle, symbol) else {
                problems.append(
                    "symbol '\(symbol)' of tool '\(tool.name)' is not in the library: check the spelling, or that "
                        + "the library exports it (`nm -D --defined-only`)")
                continue
            }
            var ownership = NativeFunction.ReturnOwnership.borrowed
            if let release = native.freeReturn {
                let found =
                    release == "free" ? dlsym(UnsafeMutableRawPointer(bitPattern: 0), "free") : dlsym(handle, release)
                guard let found else {
                    problems.append("freeReturn '\(release)' of tool '\(tool.name)' is not in the library")
                    continue
                }
                ownership = .free(unsafeBitCast(found, to: (@convention(c) (UnsafeMutableRawPointer?) -> Void).self))
            }
            do {
                let function = try NativeFunction(
                    name: manifest.name + "." + tool.name, signature: native.signature,
                    function: UnsafeRawPointer(address),
                    ownership: ownership)
                tools[tool.name] = RegisteredTool(
                    name: tool.name, cName: strdup(tool.name), kind: .native(function), toolState: nil,
                    threadSafe: native.threadSafe)
            } catch {
                problems.append("tool '\(tool.name)': \(error)")
            }
        }
        if !problems.isEmpty {
            throw ToolError(
                .pluginUnavailable,
                "\(prefix) was refused: " + problems.joined(separator: "; ")
                    + "; make the manifest and the library agree")
        }
        return tools
    }
}

/// Collects the tools a plugin registers during init.
final class Registration {
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

    /// The checks every descriptor gets: registration still open, not NULL, large enough, named, and a
    /// name not taken. Records the problem and returns nil when one fails.
    private func admit<Descriptor>(
        _ descriptor: UnsafePointer<Descriptor>?, kind: String, call: String, size: (Descriptor) -> UInt32,
        name: (Descriptor) -> UnsafePointer<CChar>?
    ) -> (descriptor: UnsafePointer<Descriptor>, cName: UnsafePointer<CChar>, name: String)? {
        guard !closed else { return nil }
        guard let descriptor else {
            problems.append("\(call) was called with NULL")
            return nil
        }
        let declared = Int(size(descriptor.pointee))
        guard declared >= MemoryLayout<Descriptor>.size else {
            problems.append(
                "a \(kind) descriptor has struct_size \(declared), expected sizeof(\(Descriptor.self)) = "
                    + "\(MemoryLayout<Descriptor>.size)")
            return nil
        }
        guard let cName = name(descriptor.pointee) else {
            problems.append("a \(kind) was registered without a name")
            return nil
        }
        let text = String(cString: cName)
        if tools.contains(where: { $0.name == text }) {
            problems.append("tool '\(text)' is registered twice")
            return nil
        }
        return (descriptor, cName, text)
    }

    func add(_ descriptor: UnsafePointer<toolhost_tool_desc>?) -> Int32 {
        guard
            let (descriptor, cName, name) = admit(
                descriptor, kind: "tool", call: "register_tool", size: \.struct_size, name: \.name)
        else { return -1 }
        guard let handler = descriptor.pointee.handler else {
            problems.append("tool '\(name)' was registered without a handler")
            return -1
        }
        tools.append(
            RegisteredTool(
                name: name, cName: strdup(cName), kind: .json(handler), toolState: descriptor.pointee.tool_state,
                threadSafe: descriptor.pointee.flags & UInt32(TOOLHOST_TOOL_THREAD_SAFE) != 0))
        return 0
    }

    static let registerFunction:
        @convention(c) (UnsafePointer<toolhost_registrar>?, UnsafePointer<toolhost_function_desc>?) -> Int32 = {
            registrar, descriptor in
            guard let registrar, let data = registrar.pointee.host_data else { return -1 }
            let registration = Unmanaged<Registration>.fromOpaque(data).takeUnretainedValue()
            return registration.addFunction(descriptor)
        }

    func addFunction(_ descriptor: UnsafePointer<toolhost_function_desc>?) -> Int32 {
        guard
            let (descriptor, cName, name) = admit(
                descriptor, kind: "function", call: "register_function", size: \.struct_size, name: \.name)
        else { return -1 }
        guard let function = descriptor.pointee.function, let cSignature = descriptor.pointee.signature else {
            problems.append("function '\(name)' was registered without a function pointer or a signature")
            return -1
        }
        let signature: NativeSignature
        do {
            signature = try NativeSignature(parsing: String(cString: cSignature))
        } catch {
            problems.append("function '\(name)': \(error)")
            return -1
        }
        var ownership = NativeFunction.ReturnOwnership.borrowed
        if let release = descriptor.pointee.free_function { ownership = .free(release) }
        do {
            let native = try NativeFunction(
                name: pluginName + "." + name, signature: signature,
                function: unsafeBitCast(function, to: UnsafeRawPointer.self), ownership: ownership)
            tools.append(
                RegisteredTool(
                    name: name, cName: strdup(cName), kind: .native(native), toolState: nil,
                    threadSafe: descriptor.pointee.flags & UInt32(TOOLHOST_TOOL_THREAD_SAFE) != 0))
        } catch {
            problems.append("function '\(name)': \(error)")
            return -1
        }
        return 0
    }
}
