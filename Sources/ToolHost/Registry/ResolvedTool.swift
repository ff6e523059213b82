import Synchronization

/// What the pipeline looks up for a tool on its first call and keeps for the next ones, so a call hashes the
/// tool's name once (in the registry) instead of once per lookup: its statistics, and its registered tool in
/// the loaded plugin. One per `ToolEntry`, so per host and per version of the manifest.
///
/// Each is set once and then read without a lock: an atomic word holding a retained reference (0 until set).
/// Not `AtomicLazyReference`: its `load()` is not inlined and looks up generic metadata on every call.
final class ResolvedTool: Sendable {
    private final class Target: Sendable {
        let plugin: LoadedPlugin
        let tool: RegisteredTool
        init(plugin: LoadedPlugin, tool: RegisteredTool) {
            self.plugin = plugin
            self.tool = tool
        }
    }

    private let figures = Atomic<UInt>(0)  // a retained StatisticsRecorder.Tool
    private let target = Atomic<UInt>(0)  // a retained Target

    init() {}

    deinit {
        if let raw = UnsafeRawPointer(bitPattern: figures.load(ordering: .acquiring)) {
            Unmanaged<StatisticsRecorder.Tool>.fromOpaque(raw).release()
        }
        if let raw = UnsafeRawPointer(bitPattern: target.load(ordering: .acquiring)) {
            Unmanaged<Target>.fromOpaque(raw).release()
        }
    }

    /// The tool's figures in `recorder` (the host's recorder; an entry belongs to one host).
    func statistics(in recorder: StatisticsRecorder, tool: String, plugin: String) -> StatisticsRecorder.Tool {
        if let raw = UnsafeRawPointer(bitPattern: figures.load(ordering: .acquiring)) {
            return Unmanaged<StatisticsRecorder.Tool>.fromOpaque(raw).takeUnretainedValue()
        }
        return Self.keep(recorder.tool(tool, plugin: plugin), in: figures)
    }

    /// The tool `name` as `plugin` registered it (looked up again if the entry's plugin is not `plugin`).
    func tool(in plugin: LoadedPlugin, named name: String) -> RegisteredTool? {
        if let raw = UnsafeRawPointer(bitPattern: target.load(ordering: .acquiring)) {
            let known = Unmanaged<Target>.fromOpaque(raw).takeUnretainedValue()
            if known.plugin === plugin { return known.tool }
            return plugin.tools[name]
        }
        guard let tool = plugin.tools[name] else { return nil }
        _ = Self.keep(Target(plugin: plugin, tool: tool), in: target)
        return tool
    }

    /// Stores `object` in `word` unless another thread stored one first; returns the one kept.
    private static func keep<T: AnyObject>(_ object: T, in word: borrowing Atomic<UInt>) -> T {
        let raw = Unmanaged.passRetained(object).toOpaque()
        let (stored, existing) = word.compareExchange(
            expected: 0, desired: UInt(bitPattern: raw), ordering: .acquiringAndReleasing)
        if stored { return object }
        Unmanaged<T>.fromOpaque(raw).release()
        return Unmanaged<T>.fromOpaque(UnsafeRawPointer(bitPattern: existing)!).takeUnretainedValue()
    }
}
