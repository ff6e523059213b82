import CToolHost
import Foundation
import Instrumentation
import Logging
import Synchronization
import ToolHostJSON

/// The one API every front end calls: list tools and plugins, and run calls through the pipeline
/// (registry → validation → cache / single flight → scheduler → plugin thread → cache store → stats).
public final class ToolHost: Sendable {
    public let configuration: Configuration
    /// The result cache (exposed for invalidation and usage figures).
    public let cache: ResultCache
    /// The L2 tier behind `cache` (a SQLite file), when `configuration.cache.l2.enabled` is true.
    public let persistentCache: SQLiteResultCache?
    let registry: Registry
    let loader: PluginLoader
    let executor: Executor
    let statistics = StatisticsRecorder()
    /// Per-agent figures, bounded by `configuration.agents.maxTracked`.
    let agentStatistics: AgentStatistics
    /// The live statistics and scores of capability providers.
    let router: CapabilityRouter
    let changeObservers = ToolChangeObservers()
    let logger: Logger
    /// Holds back repeated lines of one failure (``logFailure(_:tool:plugin:agent:)``).
    let failureLogLimiter = LogRateLimiter(interval: .seconds(1))
    /// `configuration.defaultTimeout` in nanoseconds, converted once rather than on every call.
    private let defaultTimeoutNanoseconds: Int64
    /// Identical cacheable calls in flight share one execution.
    private let singleFlight = SingleFlight()
    /// Set by ``beginDrain()``: new calls are refused, and calls cancelled from then on are counted.
    private let draining = Atomic<Bool>(false)
    private let cutByDrain = Atomic<Int>(0)
    /// Spans for calls; nil (no tracer configured): the pipeline makes none, at the cost of testing this.
    let tracing: CallTracing?

    /// Creates a host and lists the plugins directory (manifests only; no library is opened).
    /// - Parameters:
    ///   - configuration: limits, defaults and directories.
    ///   - logger: where the host and its plugins log (metadata `plugin.name`, `tool.name`).
    public init(configuration: Configuration, logger: Logger = Logger(label: "toolhost")) {
        self.configuration = configuration
        self.logger = logger
        self.agentStatistics = AgentStatistics(maxTracked: configuration.agents.maxTracked)
        self.defaultTimeoutNanoseconds = CallDeadline.nanoseconds(configuration.defaultTimeout)
        self.tracing = configuration.tracer.map { CallTracing(tracer: $0) }
        self.cache = ResultCache(maxBytes: configuration.cache.maxBytes)
        let l2 = configuration.cache.l2
        if configuration.cache.enabled && l2.enabled == true {
            var tier = SQLiteResultCache.Configuration(
                path: l2.resolvedPath(libraryStore: configuration.libraryStore), maxBytes: l2.maxBytes,
                budget: l2.budget)
            if let wallClock = configuration.cache.wallClock { tier.wallClock = wallClock }
            self.persistentCache = SQLiteResultCache(configuration: tier, logger: logger)
        } else {
            self.persistentCache = nil
        }
        self.registry = Registry(pluginsDirectory: configuration.pluginsDirectory)
        self.router = CapabilityRouter(configuration.capabilities)
        self.loader = PluginLoader(
            store: LibraryStore(directory: configuration.libraryStore), logger: logger,
            allowedSystemLibraries: configuration.allowedSystemLibraries, isolation: configuration.isolation,
            maxOutputBytes: configuration.maxOutputBytes, strictFilePermissions: configuration.strictFilePermissions,
            signatures: configuration.signatures)
        self.executor = Executor(
            limits: .init(
                maxConcurrentCalls: configuration.limits.maxConcurrentCalls,
                maxQueuedCalls: configuration.limits.maxQueuedCalls,
                defaultPluginConcurrency: configuration.limits.defaultPluginConcurrency,
                defaultToolConcurrency: configuration.limits.defaultToolConcurrency,
                policies: configuration.pluginPolicies,
                agentMaxConcurrentCalls: configuration.agents.maxConcurrentCalls > 0
                    ? configuration.agents.maxConcurrentCalls : nil,
                agentQuotas: configuration.agents.quotas),
            maxOutputBytes: configuration.maxOutputBytes, awakeWait: configuration.limits.awakeWait)
        registry.rescan()
        warnAboutUnknownTools(in: registry.snapshot.plugins)
    }

    /// Logs each tool named by an operator's cap (`PluginPolicy.tools`) that the plugin does not declare: a
    /// misspelt name would otherwise cap nothing, silently.
    private func warnAboutUnknownTools(in records: [PluginRecord]) {
        guard !configuration.pluginPolicies.isEmpty else { return }
        for record in records {
            guard let policy = configuration.pluginPolicies[record.manifest.name] else { continue }
            let declared = Set(record.manifest.tools.map(\.name))
            for tool in policy.tools.keys.sorted() where !declared.contains(tool) {
                logger.warning(
                    "an operator's cap names a tool the plugin does not declare; it caps nothing",
                    metadata: [
                        "plugin.name": "\(record.manifest.name)", "tool": "\(tool)",
                        "declared": "\(declared.sorted().joined(separator: ", "))",
                    ])
            }
        }
    }

    // MARK: listing

    /// Reads the plugins directory again: new, changed and removed plugins.
    ///
    /// A changed plugin becomes a new generation: new calls go to it, calls already running finish on the old one.
    /// A removed plugin's tools disappear at once; its calls in flight finish, and its worker processes stop when
    /// they have. When a plugin that was serving gets an invalid manifest, or (with `loadNewPlugins`) a library
    /// that fails to load, the previous version goes on serving and ``PluginInfo/rejectedUpdate`` says why.
    ///
    /// - Parameter loadNewPlugins: open the libraries of new and changed plugins before their tools are published
    ///   (what the daemon's directory watcher does), instead of on first call. Blocking: call it from a host
    ///   thread, not from async code.
    /// - Returns: whether the set of tools changed (observers were told).
    @discardableResult
    public func reload(loadNewPlugins: Bool = false) -> Bool {
        let before = registry.snapshot
        let loader = self.loader
        let after = registry.rescan(load: loadNewPlugins ? { $0.loadNow(using: loader) } : nil)
        for record in before.plugins where !after.plugins.contains(where: { $0 === record }) {
            if case .loaded(let plugin) = record.state { plugin.workers?.shutdown() }
            let replacement = after.plugins.first { $0.directory == record.directory }
            let replaced = replacement != nil
            if let replacement { forgetGeneration(record, replacedBy: replacement) }
            logger.info(
                replaced ? "plugin replaced" : "plugin removed",
                metadata: ["plugin.name": "\(record.manifest.name)", "plugin.version": "\(record.manifest.version)"])
        }
        let added = after.plugins.filter { record in !before.plugins.contains { $0 === record } }
        warnAboutUnknownTools(in: added)
        for record in added {
            var metadata: Logger.Metadata = [
                "plugin.name": "\(record.manifest.name)", "plugin.version": "\(record.manifest.version)",
                "tools": "\(record.manifest.tools.count)",
            ]
            if case .failed(let error) = record.state {
                metadata["error"] = "\(error.message)"
                logger.error("plugin added but failed to load", metadata: metadata)
            } else {
                logger.info("plugin added", metadata: metadata)
            }
        }
        for problem in after.problems where !before.problems.contains(problem) {
            logger.warning(
                "plugin folder not loaded",
                metadata: ["plugin.directory": "\(problem.directory)", "error": "\(problem)"])
        }
        for (directory, error) in after.rejected where before.rejected[directory] != error {
            logger.error(
                "plugin update rejected", metadata: ["plugin.directory": "\(directory)", "error": "\(error.message)"])
        }
        let changed =
            before.tools.count != after.tools.count
            || before.tools.contains { name, entry in after.tools[name]?.record !== entry.record }
        if changed { changeObservers.notify() }
        return changed
    }

    /// Every callable tool, sorted by name.
    public func tools() -> [ToolInfo] {
        registry.snapshot.tools.values.map {
            ToolInfo(
                name: $0.fullName, plugin: $0.record.manifest.name, pluginVersion: $0.record.manifest.version,
                manifest: $0.manifest)
        }.sorted { $0.name < $1.name }
    }

    /// Every plugin with a valid manifest, and its state.
    public func plugins() -> [PluginInfo] {
        let snapshot = registry.snapshot
        return snapshot.plugins.map { record in
            let (state, error): (PluginInfo.State, ToolError?) =
                switch record.state {
                case .listed: (.listed, nil)
                case .loading: (.loading, nil)
                case .loaded: (.loaded, nil)
                case .failed(let error): (.failed, error)
                }
            var quarantined = false
            if case .loaded(let plugin) = record.state { quarantined = plugin.breaker.quarantinedUntil != nil }
            return PluginInfo(
                name: record.manifest.name, version: record.manifest.version, directory: record.directory,
                state: state, error: error, tools: record.manifest.tools.map { record.manifest.name + "." + $0.name },
                isolation: configuration.isolation.mode(for: record.manifest), quarantined: quarantined,
                rejectedUpdate: snapshot.rejected[record.directory],
                capabilityConflicts: snapshot.capabilityConflicts.filter {
                    $0.tool.hasPrefix(record.manifest.name + ".")
                })
        }
    }

    /// Plugin directories that could not be listed, with every problem and its fix.
    public func problems() -> [PluginProblem] {
        registry.snapshot.problems
    }

    /// Per-tool statistics since the host started.
    public func statisticsSnapshot() -> [ToolStatistics] {
        statistics.snapshot()
    }

    /// What the host has been doing since it started and in the last minute and hour: the figures behind the
    /// insights API.
    public func activity() -> HostActivity {
        statistics.activity()
    }

    /// Each agent's figures since the host started (at most `agents.maxTracked` names and `other`), busiest first.
    public func agents() -> [AgentActivity] {
        agentStatistics.snapshot()
    }

    /// Calls in flight and waiting.
    public var load: (running: Int, queued: Int) { executor.scheduler.load }

    // MARK: draining

    /// Begins a drain (a daemon's SIGTERM): from now on new calls are refused with `plugin_unavailable` ("the host
    /// is shutting down"), calls already running go on, and each that ends `cancelled` (its front end stopped
    /// waiting for it when the grace period passed) is counted in ``callsCutByDrain``.
    public func beginDrain() {
        draining.store(true, ordering: .releasing)
    }

    /// Whether a drain has begun.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Calls that ended `cancelled` after the drain began: those the grace period cut short.
    public var callsCutByDrain: Int { cutByDrain.load(ordering: .acquiring) }

    /// Calls answered while their caller waited awake, without suspending (`Limits.awakeWait`), since the host
    /// started.
    public var callsAnsweredAwake: Int { executor.awakeWaiting.answers.load(ordering: .relaxed) }

    /// Stops the idle worker processes of every plugin in process isolation (and anything they forked).
    /// Calls still running finish first; the CLI calls this before it exits.
    public func shutdown() {
        for record in registry.snapshot.plugins {
            if case .loaded(let plugin) = record.state { plugin.workers?.shutdown() }
        }
    }

    /// The pids of the idle worker processes of a plugin (for tests and diagnostics).
    public func workerPids(plugin name: String) -> [Int32] {
        guard let record = registry.snapshot.plugins.first(where: { $0.manifest.name == name }),
            case .loaded(let plugin) = record.state
        else { return [] }
        return plugin.workers?.idlePids ?? []
    }

    /// The worker processes of every loaded plugin in process isolation, idle or running a call: each plugin's
    /// name with the pids of its workers (for the memory figures of the insights API).
    public func workerProcesses() -> [(plugin: String, pids: [Int32])] {
        registry.snapshot.plugins.compactMap { record in
            guard case .loaded(let plugin) = record.state, let workers = plugin.workers else { return nil }
            return (record.manifest.name, workers.pids)
        }
    }

    /// The descriptors the host holds for a plugin's idle workers (for tests: no leak after a fault).
    func workerDescriptors(plugin name: String) -> [Int32] {
        guard let record = registry.snapshot.plugins.first(where: { $0.manifest.name == name }),
            case .loaded(let plugin) = record.state
        else { return [] }
        return plugin.workers?.idleDescriptors ?? []
    }

    /// Removes cached results from every tier: all, one plugin's, or one tool's (`<plugin>.<tool>`).
    /// - Returns: how many entries each tier removed.
    @discardableResult
    public func invalidateCache(plugin: String? = nil, tool: String? = nil) async -> CacheRemoval {
        let l1 = cache.invalidate(plugin: plugin, tool: tool)
        return CacheRemoval(l1: l1, l2: await persistentCache?.invalidate(plugin: plugin, tool: tool))
    }

    /// Each tier of the result cache: memory (L1), then the SQLite file (L2; `off` when not enabled).
    public func cacheTiers() -> [CacheTierStatus] {
        let l2 =
            persistentCache?.status
            ?? CacheTierStatus(
                tier: "l2", state: "off", maxBytes: configuration.cache.l2.maxBytes,
                problem: configuration.cache.enabled
                    ? "not enabled (cache.l2Enabled, TOOLHOST_CACHE_L2, --cache-l2)" : "the cache is disabled")
        return [cache.status, l2]
    }

    /// Applies the L2 writes queued so far and closes its file (the CLI before it exits, the daemon at shutdown).
    public func closeCache() async {
        await persistentCache?.close()
    }

    /// A plugin replaced by a new generation: its old generation's L2 entries can never be read again (the key
    /// names the version and the library's sha256), so they are deleted rather than left to age out. Nothing is
    /// deleted when the new generation is known to be the same version of the same library.
    private func forgetGeneration(_ old: PluginRecord, replacedBy new: PluginRecord) {
        guard let persistentCache else { return }
        func library(of record: PluginRecord) -> String? {
            if case .loaded(let plugin) = record.state { return plugin.sha256 }
            return record.manifest.library.sha256
        }
        guard let oldLibrary = library(of: old) else { return }
        if new.manifest.name == old.manifest.name && new.manifest.version == old.manifest.version
            && library(of: new) == oldLibrary
        {
            return
        }
        persistentCache.invalidateLater(
            .generation(plugin: old.manifest.name, version: old.manifest.version, library: oldLibrary))
    }

    // MARK: calls

    /// Runs one call through the pipeline.
    /// - Returns: the result, or the `ToolError` that says what went wrong.
    public func call(_ request: ToolCall) async -> Result<ToolResult, ToolError> {
        if tracing != nil, let parent = request.traceContext {
            var request = request
            request.traceContext = nil
            return await InstrumentationContext.$current.withValue(parent) { await call(request) }
        }
        if let progress = request.progress {
            defer { progress.end() }
            return await CallProgress.$current.withValue(progress) { await perform(request) }
        }
        // A call nobody follows, made from inside one that is followed, must not report into the other's progress.
        if CallProgress.current != nil {
            return await CallProgress.$current.withValue(nil) { await perform(request) }
        }
        return await perform(request)
    }

    /// ``call(_:)`` with the call's progress bound.
    private func perform(_ request: ToolCall) async -> Result<ToolResult, ToolError> {
        do {
            if request.byCapability {
                return .success(
                    try await call(
                        capability: request.tool, arguments: request.arguments, priority: request.priority,
                        timeout: request.timeout, complexity: request.complexity, agent: request.agent))
            }
            return .success(
                try await call(
                    request.tool, arguments: request.arguments, priority: request.priority,
                    timeout: request.timeout, agent: request.agent))
        } catch {
            return .failure(error)
        }
    }

    /// Runs one call through the pipeline.
    /// - Parameters:
    ///   - name: `<plugin>.<tool>`.
    ///   - arguments: the arguments object.
    ///   - priority: overrides the tool's priority.
    ///   - timeout: caps the deadline.
    ///   - agent: who makes the call (counted per agent and named in log lines); nil: no one in particular.
    /// - Throws: `ToolError`.
    public func call(
        _ name: String, arguments: JSONValue, priority: Int? = nil, timeout: Duration? = nil, agent: String? = nil
    ) async throws(ToolError) -> ToolResult {
        let started = monotonicNanoseconds()
        if priority != nil || timeout != nil { try ToolCall.checkRanges(priority: priority, timeout: timeout) }
        if draining.load(ordering: .relaxed) { throw Self.shuttingDown }
        guard let entry = registry.tool(named: name) else {
            throw notFound(name)
        }
        return try await call(
            entry, arguments: arguments, priority: priority, timeout: timeout, agent: agent, started: started)
    }

    /// Runs one call of a tool the registry found, recording its statistics (the agent's too); `started` is when the
    /// call began.
    func call(
        _ entry: ToolEntry, arguments: JSONValue, priority: Int?, timeout: Duration?, agent: String?, started: UInt64
    ) async throws(ToolError) -> ToolResult {
        if let tracing,
            let trace = tracing.begin(
                tool: entry.fullName, plugin: entry.record.manifest.name, agent: agent, started: started)
        {
            let result = await CallTrace.$current.withValue(trace) { () async -> Result<ToolResult, ToolError> in
                do throws(ToolError) {
                    return .success(
                        try await recorded(
                            entry, arguments: arguments, priority: priority, timeout: timeout, agent: agent,
                            started: started))
                } catch {
                    return .failure(error)
                }
            }
            trace.end(result)
            return try result.get()
        }
        return try await recorded(
            entry, arguments: arguments, priority: priority, timeout: timeout, agent: agent, started: started)
    }

    /// ``call(_:arguments:priority:timeout:agent:started:)`` once its span, if any, is bound.
    @inline(__always)
    private func recorded(
        _ entry: ToolEntry, arguments: JSONValue, priority: Int?, timeout: Duration?, agent: String?, started: UInt64
    ) async throws(ToolError) -> ToolResult {
        let name = entry.fullName
        let figures = entry.resolved.statistics(in: statistics, tool: name, plugin: entry.record.manifest.name)
        do {
            var result = try await run(
                entry, arguments: arguments, priority: priority, agent: agent, timeout: timeout, started: started)
            result.defaultMaxResultBytes = entry.manifest.maxResultBytes
            statistics.record(
                figures, outcome: .success(cached: result.cached), duration: result.duration,
                retries: result.attempts > 1 ? result.attempts - 1 : 0)
            if let agent {
                agentStatistics.record(
                    agent: agent, tool: name, outcome: .success(cached: result.cached), duration: result.duration)
            }
            return result
        } catch {
            let duration = elapsed(since: started)
            statistics.record(figures, outcome: .failure(error), duration: duration, retries: 0)
            if let agent {
                agentStatistics.record(agent: agent, tool: name, outcome: .failure(error), duration: duration)
            }
            if error.code == .cancelled, draining.load(ordering: .relaxed) {
                cutByDrain.wrappingAdd(1, ordering: .relaxed)
            }
            logFailure(error, tool: name, plugin: entry.record.manifest.name, agent: agent)
            throw error
        }
    }

    /// What a call made during a drain is answered with.
    static let shuttingDown = ToolError(
        .pluginUnavailable, "the host is shutting down and takes no new calls; retry on another instance")

    /// Runs calls concurrently and returns their outcomes in input order.
    /// - Parameter concurrency: how many of them run at once (the host's limits still apply).
    public func batch(_ calls: [ToolCall], concurrency: Int = 64) async -> [Result<ToolResult, ToolError>] {
        await inParallel(calls.count, width: concurrency) { index in await self.call(calls[index]) }
    }

    /// Runs `body` for every index below `count`, at most `width` at once, and returns the answers in index order.
    func inParallel<T: Sendable>(
        _ count: Int, width: Int, _ body: @escaping @Sendable (Int) async -> T
    ) async -> [T] {
        // `width` worker tasks take the next index from a shared counter: one task per worker, not one per item, and
        // no round trip through the group for each completion.
        let next = BatchCursor()
        let workers = min(max(1, width), max(1, count))
        return await withTaskGroup(of: [(Int, T)].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var done: [(Int, T)] = []
                    while true {
                        let index = next.take()
                        guard index < count else { return done }
                        done.append((index, await body(index)))
                    }
                }
            }
            var answers = [T?](repeating: nil, count: count)
            for await done in group {
                for (index, answer) in done { answers[index] = answer }
            }
            return answers.map { $0! }
        }
    }

    /// Why there is no tool `name`, as far as the host knows: the plugin has other tools; the plugins directory is
    /// missing or unreadable; the plugin's folder was refused (and why); or none of these.
    private func notFound(_ name: String) -> ToolError {
        let snapshot = registry.snapshot
        let known = snapshot.tools.keys
        let plugin = name.split(separator: ".").first.map(String.init) ?? name
        let samePlugin = known.filter { $0.hasPrefix(plugin + ".") }.sorted()
        if !samePlugin.isEmpty {
            return ToolError(
                .notFound, "no tool '\(name)': plugin '\(plugin)' has " + samePlugin.joined(separator: ", "))
        }
        if let directory = snapshot.problems.first(where: { $0.directory == registry.pluginsDirectory }),
            let problem = directory.problems.first
        {
            return ToolError(
                .notFound, "no tool '\(name)': \(problem.message) (\(directory.directory)); \(problem.hint)")
        }
        if let folder = snapshot.problems.first(where: {
            $0.declaredName == plugin || $0.directory.hasSuffix("/" + plugin)
        }) {
            let why = folder.problems.map(\.description).joined(separator: "; ")
            return ToolError(
                .notFound,
                "no tool '\(name)': plugin '\(plugin)' was not loaded: its folder \(folder.directory) was refused: \(why)"
            )
        }
        var message =
            "no tool '\(name)' (\(known.count) tools are listed in \(registry.pluginsDirectory); `toolhost list` shows them"
        if !snapshot.problems.isEmpty {
            let folders = snapshot.problems.map(\.directory)
            message +=
                "; \(folders.count) plugin folder\(folders.count == 1 ? " was" : "s were") refused: "
                + folders.joined(separator: ", ") + " (`toolhost check FOLDER` says why)"
        }
        return ToolError(.notFound, message + ")")
    }

    /// Validates the arguments and runs the call: straight to the plugin when the tool is not cached, else
    /// through the cache and single flight (`runCached`).
    ///
    /// Inlined, as are `attempts` and `Executor.run`: an uncached call is one async frame (`call`) down to the
    /// continuation the plugin thread resumes, not four.
    @inline(__always)
    private func run(
        _ entry: ToolEntry, arguments: JSONValue, priority: Int?, agent: String?, timeout: Duration?, started: UInt64
    ) async throws(ToolError) -> ToolResult {
        if tracing != nil, let trace = CallTrace.current {
            let start = monotonicNanoseconds()
            do throws(ToolError) {
                try entry.validate(arguments)
            } catch {
                trace.phase("toolhost.validate", from: start, to: monotonicNanoseconds(), error: error)
                throw error
            }
            trace.phase("toolhost.validate", from: start, to: monotonicNanoseconds())
        } else {
            try entry.validate(arguments)
        }
        let canonical = arguments.canonical()
        // `entry.manifest.…` rather than a copy of the manifest: copying it retains every field.
        guard configuration.cache.enabled && entry.manifest.deterministic else {
            return try await attempts(
                entry, canonical: canonical, priority: priority, agent: agent, timeout: timeout, started: started)
        }
        return try await runCached(
            entry, arguments: arguments, canonical: canonical, priority: priority, agent: agent, timeout: timeout,
            started: started)
    }

    /// A deterministic tool's call with the cache on: a hit, a shared execution, or an execution whose result is
    /// stored.
    private func runCached(
        _ entry: ToolEntry, arguments: JSONValue, canonical: [UInt8], priority: Int?, agent: String?,
        timeout: Duration?,
        started: UInt64
    ) async throws(ToolError) -> ToolResult {
        let ttl = configuration.cache.ttl(
            of: entry.manifest, operatorCap: pluginPolicy(of: entry)?.caps(forTool: entry.manifest.name).cacheTTLSeconds
        )
        guard ttl > .zero && configuration.cache.admits(arguments, of: entry.manifest) else {
            return try await execute(
                entry, canonical: canonical, priority: priority, agent: agent, timeout: timeout, started: started)
        }
        // The key names the library's content: a generation replaced under the same version (or an impostor folder
        // claiming the name) never answers from another generation's results. So the plugin is loaded first.
        let loaded = try await load(entry, timeout: timeout, started: started)
        let pluginName = entry.record.manifest.name
        let key = CacheKey(
            plugin: pluginName, version: entry.record.manifest.version, library: loaded.plugin.sha256,
            tool: entry.manifest.name, canonicalArguments: canonical,
            agent: entry.manifest.cache.scope == .agent ? agent ?? "" : nil)
        let figures = entry.resolved.statistics(in: statistics, tool: entry.fullName, plugin: pluginName)
        let trace = tracing == nil ? nil : CallTrace.current
        let lookupStart = trace == nil ? 0 : monotonicNanoseconds()
        let l1 = cache.get(key)
        if let trace {
            trace.phase("toolhost.cache.lookup", from: lookupStart, to: monotonicNanoseconds()) { attributes in
                attributes["toolhost.cache.tier"] = "l1"
                attributes["toolhost.cache.hit"] = l1 != nil
            }
        }
        if let hit = l1 {
            statistics.recordCache(figures, hit: true)
            return ToolResult(
                tool: entry.fullName, output: hit.output, cached: true, shared: false,
                duration: elapsed(since: started), originalDuration: hit.duration, attempts: 0)
        }
        statistics.recordCache(figures, hit: false)

        // Single flight: the first identical call runs, the others wait for its outcome.
        let (flight, leader) = singleFlight.join(
            key, leaderDeadline: deadline(for: entry, timeout: timeout, started: started).nanoseconds)
        if !leader {
            return try await follow(
                flight, entry: entry, arguments: arguments, priority: priority, agent: agent, timeout: timeout,
                started: started)
        }
        // The leader asks L2 (within its budget: a slow file is a miss); a hit fills L1 and answers the followers.
        if let persistentCache, let stored = await lookUp(key, in: persistentCache, trace: trace) {
            cache.put(
                key, output: stored.output, duration: stored.duration, ttl: min(ttl, stored.remaining),
                plugin: pluginName, tool: entry.fullName)
            let value = ToolResult(
                tool: entry.fullName, output: stored.output, cached: true, shared: false,
                duration: elapsed(since: started), originalDuration: stored.duration, attempts: 0)
            singleFlight.finish(key, flight, with: .success(value))
            return value
        }
        let result: Result<ToolResult, ToolError>
        do {
            let value = try await execute(
                entry, canonical: canonical, priority: priority, agent: agent, timeout: timeout, started: started,
                loaded: loaded)
            cache.put(
                key, output: value.output, duration: value.duration, ttl: ttl, plugin: pluginName, tool: entry.fullName
            )
            persistentCache?.store(
                key, plugin: pluginName, version: entry.record.manifest.version, library: loaded.plugin.sha256,
                tool: entry.fullName, output: value.output, duration: value.duration, ttl: ttl)
            result = .success(value)
        } catch {
            result = .failure(error)
        }
        singleFlight.finish(key, flight, with: result)
        return try result.get()
    }

    /// The L2 tier's answer for `key`; with a sampled call's trace, a span for the lookup.
    private func lookUp(
        _ key: CacheKey, in tier: SQLiteResultCache, trace: CallTrace?
    ) async -> SQLiteResultCache.Stored? {
        guard let trace else { return await tier.lookup(key) }
        let start = monotonicNanoseconds()
        let stored = await tier.lookup(key)
        trace.phase("toolhost.cache.lookup", from: start, to: monotonicNanoseconds()) { attributes in
            attributes["toolhost.cache.tier"] = "l2"
            attributes["toolhost.cache.hit"] = stored != nil
        }
        return stored
    }

    /// Waits for the identical call that is running, within this call's own deadline.
    private func follow(
        _ flight: SingleFlight.Flight, entry: ToolEntry, arguments: JSONValue, priority: Int?, agent: String?,
        timeout: Duration?,
        started: UInt64
    ) async throws(ToolError) -> ToolResult {
        let deadline = deadline(for: entry, timeout: timeout, started: started)
        switch await singleFlight.follow(flight, until: deadline, tool: entry.fullName) {
        case .success(var result):
            result.duration = elapsed(since: started)
            return result
        case .failure(let error)
        where SingleFlight.followerRunsOn(after: error, flight: flight, deadline: deadline, now: monotonicNanoseconds()):
            // The leader was cancelled by its own caller, or its deadline was the shorter one: run it ourselves.
            return try await run(
                entry, arguments: arguments, priority: priority, agent: agent, timeout: timeout, started: started)
        case .failure(let error):
            throw error
        }
    }

    private func deadline(
        for entry: ToolEntry, timeout: Duration?, started: UInt64, toolClockStart: UInt64? = nil
    ) -> CallDeadline {
        let plugin = pluginPolicy(of: entry)
        return CallDeadline(
            hostDefaultNanoseconds: defaultTimeoutNanoseconds, toolTimeoutMs: entry.manifest.timeoutMs,
            operatorTimeoutMs: plugin?.timeoutMs, operatorToolTimeoutMs: plugin?.tools[entry.manifest.name]?.timeoutMs,
            callTimeout: timeout, now: started, toolClockStart: toolClockStart)
    }

    /// The operator's caps on the tool's plugin (and, in `tools`, on single tools), if any.
    private func pluginPolicy(of entry: ToolEntry) -> Configuration.PluginPolicy? {
        configuration.pluginPolicies.isEmpty ? nil : configuration.pluginPolicies[entry.record.manifest.name]
    }

    /// `attempts`, not inlined (the cached paths).
    private func execute(
        _ entry: ToolEntry, canonical: [UInt8], priority: Int?, agent: String?, timeout: Duration?, started: UInt64,
        loaded: Loaded? = nil
    ) async throws(ToolError) -> ToolResult {
        try await attempts(
            entry, canonical: canonical, priority: priority, agent: agent, timeout: timeout, started: started,
            loaded: loaded)
    }

    /// A plugin's loaded generation, and when this call had to load it, the time the load ended.
    private struct Loaded {
        let plugin: LoadedPlugin
        /// The tool's own timeout counts from here, not from the call's start: it bounds the tool's work, not the
        /// plugin's first load. Nil: the plugin was loaded already.
        let toolClockStart: UInt64?
    }

    /// The entry's plugin, loaded (once, shared) if it is not yet; the caller's own timeout and the host default
    /// bound the wait for the load (not the tool's timeoutMs).
    private func load(_ entry: ToolEntry, timeout: Duration?, started: UInt64) async throws(ToolError) -> Loaded {
        if case .loaded(let ready) = entry.record.state { return Loaded(plugin: ready, toolClockStart: nil) }
        let loadDeadline = CallDeadline(
            hostDefaultNanoseconds: defaultTimeoutNanoseconds, toolTimeoutMs: nil, callTimeout: timeout, now: started)
        let plugin = try await entry.record.loaded(
            using: loader, pool: executor.pool, deadline: loadDeadline, tool: entry.fullName)
        return Loaded(plugin: plugin, toolClockStart: monotonicNanoseconds())
    }

    /// Loads the plugin if needed and runs the tool, retrying transient errors when the tool allows it.
    @inline(__always)
    private func attempts(
        _ entry: ToolEntry, canonical: [UInt8], priority: Int?, agent: String?, timeout: Duration?, started: UInt64,
        loaded: Loaded? = nil
    ) async throws(ToolError) -> ToolResult {
        // A loaded plugin without an async call (a frame per call); else load it (once, shared).
        let plugin: LoadedPlugin
        var toolClockStart: UInt64? = nil
        if let loaded {
            (plugin, toolClockStart) = (loaded.plugin, loaded.toolClockStart)
        } else if case .loaded(let ready) = entry.record.state {
            plugin = ready
        } else {
            let loaded = try await load(entry, timeout: timeout, started: started)
            (plugin, toolClockStart) = (loaded.plugin, loaded.toolClockStart)
        }
        let deadline = deadline(for: entry, timeout: timeout, started: started, toolClockStart: toolClockStart)
        guard let tool = entry.resolved.tool(in: plugin, named: entry.manifest.name) else {
            throw ToolError(.internal, "plugin '\(plugin.manifest.name)' lost tool '\(entry.manifest.name)'")
        }
        if let until = plugin.breaker.quarantinedUntil {
            let seconds = Double((until - .now).components.seconds) + 1
            throw ToolError(
                .pluginUnavailable,
                "plugin '\(plugin.manifest.name)' is quarantined after \(plugin.breaker.policy.threshold) crashes or "
                    + "timeouts within \(plugin.breaker.policy.window); calls fail fast for about \(Int(seconds)) s more"
            )
        }
        var retry = RetryPolicy(manifest: entry.manifest, defaultMaxAttempts: configuration.defaultMaxAttempts)
        var attempt = 0
        let trace = tracing == nil ? nil : CallTrace.current
        while true {
            attempt += 1
            let outcome: InvocationOutcome
            if let trace {
                outcome = await tracedAttempt(
                    trace, plugin: plugin, tool: tool, entry: entry, canonical: canonical, deadline: deadline,
                    priority: priority, agent: agent)
            } else {
                outcome = await executor.run(
                    plugin: plugin, tool: tool, manifest: entry.manifest, fullName: entry.fullName,
                    arguments: canonical, deadline: deadline, priority: priority ?? entry.manifest.priority,
                    agent: agent)
            }
            switch outcome {
            case .success(let output):
                plugin.breaker.recordAnswer()
                if output.isEmpty {
                    throw ToolError(
                        .pluginError,
                        "tool '\(entry.fullName)' returned TOOLHOST_OK without writing a result; call write_result "
                            + "with one JSON value (an empty object will do) before returning")
                }
                guard JSONValue.isValid(utf8: output) else {
                    throw ToolError(
                        .pluginError,
                        "tool '\(entry.fullName)' returned a result that is not valid UTF-8 JSON "
                            + "(\(output.count) bytes starting \(preview(output))); the plugin must write one JSON value"
                    )
                }
                return ToolResult(
                    tool: entry.fullName, output: output, cached: false, shared: false,
                    duration: elapsed(since: started), originalDuration: nil, attempts: attempt)
            case .error(let error):
                if error.code == .timeout || error.code == .pluginCrashed, plugin.breaker.recordFailure() {
                    logger.error(
                        "plugin quarantined after repeated crashes or timeouts",
                        metadata: ["plugin.name": "\(plugin.manifest.name)", "error": "\(error.message)"])
                }
                throw error
            case .failure(let status, let message):
                plugin.breaker.recordAnswer()
                if status == Int32(TOOLHOST_ERR_TRANSIENT.rawValue),
                    let wait = retry.nextWait(
                        after: attempt, deadline: deadline.nanoseconds, now: monotonicNanoseconds())
                {
                    logger.debug(
                        "retrying after a transient error",
                        metadata: ["tool.name": "\(entry.fullName)", "attempt": "\(attempt)"])
                    try? await Task.sleep(for: wait)
                    continue
                }
                throw RetryPolicy.error(
                    status: status, message: message, tool: entry.fullName, attempts: attempt,
                    retryable: retry.retryable)
            }
        }
    }

    /// One attempt of a sampled call, with its spans (the attempt, its queue wait, the plugin's run or the worker
    /// round trip), made here on the caller's side from the stamps the plugin thread left.
    private func tracedAttempt(
        _ trace: CallTrace, plugin: LoadedPlugin, tool: RegisteredTool, entry: ToolEntry, canonical: [UInt8],
        deadline: CallDeadline, priority: Int?, agent: String?
    ) async -> InvocationOutcome {
        let timing = JobTiming()
        let start = monotonicNanoseconds()
        let outcome = await executor.run(
            plugin: plugin, tool: tool, manifest: entry.manifest, fullName: entry.fullName, arguments: canonical,
            deadline: deadline, priority: priority ?? entry.manifest.priority, agent: agent, timing: timing)
        let error: ToolError? =
            switch outcome {
            case .success: nil
            case .failure(let status, let message):
                RetryPolicy.error(
                    status: status, message: message, tool: entry.fullName, attempts: 1, retryable: false)
            case .error(let error): error
            }
        trace.attempt(
            trace.nextAttempt(), from: start, to: monotonicNanoseconds(), timing: timing,
            isolated: plugin.workers != nil, error: error)
        return outcome
    }

    private func preview(_ bytes: [UInt8]) -> String {
        let head = bytes.prefix(24)
        let text = String(decoding: head, as: UTF8.self).replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(text)\(bytes.count > 24 ? "…" : "")\""
    }
}

/// The next index of a batch, shared by its worker tasks.
private final class BatchCursor: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
