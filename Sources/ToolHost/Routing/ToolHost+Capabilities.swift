import Foundation
import Synchronization
import ToolHostJSON

extension ToolHost {
    /// Every capability some tool provides, by name, with its providers best first and their statistics.
    public func capabilities() -> [CapabilityInfo] {
        registry.snapshot.capabilities.values.map { capability in
            let ranked = rank(capability, complexity: 1)
            var providers = ranked.map { providerInfo($0.entry, score: $0.score, state: $0.halfOpen ? .probing : nil) }
            for entry in capability.providers where !ranked.contains(where: { $0.entry === entry }) {
                providers.append(providerInfo(entry, score: 0, state: nil))
            }
            let first = capability.providers[0]
            return CapabilityInfo(
                name: capability.name, description: first.manifest.description,
                inputSchema: first.manifest.inputSchema, providers: providers)
        }.sorted { $0.name < $1.name }
    }

    /// The tools refused as providers of a capability because their input schema differs from the first
    /// provider's (each is still callable by its own name).
    public func capabilityConflicts() -> [CapabilityConflict] {
        registry.snapshot.capabilityConflicts
    }

    /// Runs a call of the best provider of a capability, failing over to the next within the call's deadline.
    ///
    /// Providers are ranked by ``CapabilityRouter``'s score. A provider that crashes, is unavailable or
    /// quarantined, is overloaded, fails transiently or times out while the call has time left hands the call on
    /// to the next; `invalid_arguments` and a tool's own `plugin_error` are the answer. The call's deadline is its
    /// `timeout`, else the host default, counted from the start: each provider gets what is left (and its own
    /// `timeoutMs` within it).
    /// - Parameters:
    ///   - name: the capability.
    ///   - arguments: the arguments object (one schema for every provider).
    ///   - priority: overrides the provider tool's priority.
    ///   - timeout: the whole call's deadline, every provider tried included.
    ///   - complexity: a factor on each provider's expected time in its score (default 1).
    ///   - agent: who makes the call (counted per agent, under the provider that ran it).
    /// - Returns: the result; ``ToolResult/tool`` names the provider that served it, ``ToolResult/failedOver`` those
    ///   that failed before it.
    /// - Throws: `ToolError`: `not_found` naming close matches, the error that ended the call, or
    ///   `plugin_unavailable` naming every provider tried and why each failed.
    public func call(
        capability name: String, arguments: JSONValue, priority: Int? = nil, timeout: Duration? = nil,
        complexity: Double? = nil, agent: String? = nil
    ) async throws(ToolError) -> ToolResult {
        let started = monotonicNanoseconds()
        try ToolCall.checkRanges(priority: priority, timeout: timeout, complexity: complexity)
        if isDraining { throw Self.shuttingDown }
        guard let capability = registry.capability(named: name) else {
            throw capabilityNotFound(name, in: registry.snapshot)
        }
        if let tracing {
            return try await tracing.capability(name, agent: agent, started: started) {
                do throws(ToolError) {
                    return .success(
                        try await callBest(
                            of: capability, arguments: arguments, priority: priority, timeout: timeout,
                            complexity: complexity, agent: agent, started: started, log: nil))
                } catch {
                    return .failure(error)
                }
            }.get()
        }
        return try await callBest(
            of: capability, arguments: arguments, priority: priority, timeout: timeout, complexity: complexity,
            agent: agent, started: started, log: nil)
    }

    /// Runs a call of the best of `capability`'s providers, failing over to the next within the deadline (the
    /// loop of ``call(capability:arguments:priority:timeout:complexity:)``, shared with task distribution).
    /// - Parameter log: when given, every attempt is noted in it (provider, time, error).
    func callBest(
        of capability: CapabilityEntry, arguments: JSONValue, priority: Int?, timeout: Duration?, complexity: Double?,
        agent: String? = nil, started: UInt64, log: AttemptLog?
    ) async throws(ToolError) -> ToolResult {
        let name = capability.name
        let deadline = started &+ UInt64(CallDeadline.nanoseconds(timeout ?? configuration.defaultTimeout))
        var failures: [ProviderFailure] = []
        var skipped: [String] = []
        for candidate in rank(capability, complexity: complexity ?? 1) {
            let now = monotonicNanoseconds()
            guard now < deadline else { break }
            let probe = candidate.halfOpen ? candidate.breaker : nil
            if let probe {
                // One probe at a time: while one runs, the provider waits for its outcome.
                guard probe.probing.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
                else {
                    skipped.append(candidate.entry.fullName)
                    continue
                }
            }
            candidate.provider.inFlight.wrappingAdd(1, ordering: .relaxed)
            let outcome: Result<ToolResult, ToolError>
            do {
                outcome = .success(
                    try await call(
                        candidate.entry, arguments: arguments, priority: priority,
                        timeout: .nanoseconds(Int64(deadline - now)), agent: agent, started: now))
            } catch {
                outcome = .failure(error)
            }
            candidate.provider.inFlight.wrappingSubtract(1, ordering: .relaxed)
            probe?.probing.store(false, ordering: .releasing)
            let milliseconds = Double(monotonicNanoseconds() &- now) / 1e6
            if let log {
                switch outcome {
                case .success: log.note(candidate.entry, milliseconds: milliseconds, error: nil)
                case .failure(let error): log.note(candidate.entry, milliseconds: milliseconds, error: error)
                }
            }
            switch outcome {
            case .success(var result):
                router.record(candidate.provider, milliseconds: milliseconds, error: nil, failedOver: false)
                result.capability = name
                result.failedOver = failures
                result.duration = elapsed(since: started)
                return result
            case .failure(let error) where error.code == .cancelled:
                throw error
            case .failure(let error):
                let providerFault = CapabilityRouter.failsOver(error)
                let goesOn = providerFault && monotonicNanoseconds() < deadline
                router.record(
                    candidate.provider, milliseconds: milliseconds, error: providerFault ? error.code : nil,
                    failedOver: goesOn)
                guard goesOn else { throw error }
                logger.info(
                    "call by capability goes on to the next provider",
                    metadata: [
                        "capability": "\(name)", "tool.name": "\(candidate.entry.fullName)",
                        "error": "\(error.code)",
                    ])
                failures.append(ProviderFailure(provider: candidate.entry.fullName, error: error))
            }
        }
        throw noProvider(capability, failures: failures, skipped: skipped, timedOut: monotonicNanoseconds() >= deadline)
    }

    // MARK: ranking

    /// The attempts of calls by capability, noted for a report (``distribute(_:concurrency:)``).
    final class AttemptLog: Sendable {
        struct Attempt: Sendable {
            let provider: ToolEntry
            let milliseconds: Double
            let error: ToolError?
        }
        private let attempts = Mutex<[Attempt]>([])
        func note(_ provider: ToolEntry, milliseconds: Double, error: ToolError?) {
            attempts.withLock { $0.append(Attempt(provider: provider, milliseconds: milliseconds, error: error)) }
        }
        var all: [Attempt] { attempts.withLock { $0 } }
    }

    /// A provider ranked for one call.
    struct RankedProvider {
        let entry: ToolEntry
        let provider: CapabilityRouter.Provider
        let score: Double
        let breaker: CircuitBreaker?
        let halfOpen: Bool
        let unproven: Bool
    }

    /// The providers a call may go to, best first: half-open ones (their probe) first, then unproven ones (by
    /// weight), then by score, ties in the registry's order. Quarantined providers and those whose plugin failed
    /// to load are left out.
    func rank(_ capability: CapabilityEntry, complexity: Double) -> [RankedProvider] {
        var ranked: [RankedProvider] = []
        ranked.reserveCapacity(capability.providers.count)
        for entry in capability.providers {
            var breaker: CircuitBreaker?
            switch entry.record.state {
            case .failed: continue
            case .loaded(let plugin):
                if plugin.breaker.quarantinedUntil != nil { continue }
                breaker = plugin.breaker
            case .listed, .loading: break
            }
            let provider = router.provider(entry.fullName)
            let score = router.score(entry, provider: provider, limit: limit(of: entry), complexity: complexity)
            // Unproven: less than half a call of history (none, or faded), and none running now.
            let unproven =
                score.figures.calls < CapabilityRouter.provenCalls && provider.inFlight.load(ordering: .relaxed) == 0
            ranked.append(
                RankedProvider(
                    entry: entry, provider: provider, score: unproven ? score.weight : score.value, breaker: breaker,
                    halfOpen: breaker?.isHalfOpen ?? false, unproven: unproven))
        }
        if ranked.count < 2 { return ranked }
        // Probes first, then unproven providers (one trial call each at a time), then by score; a stable sort:
        // equal scores keep the registry's order.
        return ranked.enumerated().sorted { a, b in
            if a.element.halfOpen != b.element.halfOpen { return a.element.halfOpen }
            if a.element.unproven != b.element.unproven { return a.element.unproven }
            if a.element.score != b.element.score { return a.element.score > b.element.score }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// The most calls of a provider that run at once: its tool's and plugin's limits (manifest, else the host's
    /// defaults, lowered by the operator's caps), 1 for a tool not registered thread-safe.
    func limit(of entry: ToolEntry) -> Int {
        let limits = configuration.limits
        var limit = min(
            entry.manifest.maxConcurrency ?? limits.defaultToolConcurrency,
            entry.record.manifest.maxConcurrency ?? limits.defaultPluginConcurrency, limits.maxConcurrentCalls)
        if let policy = configuration.pluginPolicies[entry.record.manifest.name] {
            limit = min(
                limit, policy.maxConcurrency ?? limit, policy.caps(forTool: entry.manifest.name).maxConcurrency ?? limit
            )
        }
        if case .loaded(let plugin) = entry.record.state,
            let tool = entry.resolved.tool(in: plugin, named: entry.manifest.name), !tool.threadSafe
        {
            limit = 1
        }
        return max(1, limit)
    }

    private func providerInfo(_ entry: ToolEntry, score: Double, state: ProviderInfo.State?) -> ProviderInfo {
        let provider = router.provider(entry.fullName)
        let limit = limit(of: entry)
        let parts = router.score(entry, provider: provider, limit: limit, complexity: 1)
        var resolved = state ?? .available
        switch entry.record.state {
        case .failed: resolved = .unavailable
        case .loaded(let plugin) where plugin.breaker.quarantinedUntil != nil: resolved = .quarantined
        default: break
        }
        let figures = parts.figures
        return ProviderInfo(
            tool: entry.fullName, plugin: entry.record.manifest.name, state: resolved, score: score,
            weight: parts.weight, errorRate: parts.errorRate, expectedMilliseconds: parts.expectedMilliseconds,
            inFlight: provider.inFlight.load(ordering: .relaxed), limit: limit, recentCalls: figures.calls,
            calls: figures.totalCalls, errors: figures.totalErrors, failovers: figures.failovers,
            lastError: figures.lastError?.rawValue)
    }

    // MARK: errors

    func capabilityNotFound(_ name: String, in snapshot: Registry.Snapshot) -> ToolError {
        let known = snapshot.capabilities.keys.sorted()
        var message = "no capability named '\(name)'"
        let close = known.filter { Self.isClose($0, name) }
        if !close.isEmpty {
            message += "; did you mean " + close.map { "'\($0)'" }.joined(separator: " or ") + "?"
        } else if known.isEmpty {
            message += ": no tool provides a capability (a manifest tool declares them in \"provides\")"
        } else {
            message += " (known: " + known.prefix(20).joined(separator: ", ") + (known.count > 20 ? ", …" : "") + ")"
        }
        if let conflict = snapshot.capabilityConflicts.first(where: { $0.capability == name }) {
            message += "; \(conflict)"
        } else if snapshot.tools[name] != nil {
            message += "; '\(name)' is a tool: call it by its name"
        }
        return ToolError(.notFound, message)
    }

    /// Whether two names are close: one contains the other, or they differ by at most a third of their length.
    static func isClose(_ a: String, _ b: String) -> Bool {
        if a.contains(b) || b.contains(a) { return true }
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var previous = Array(0...y.count)
        for i in 1...max(1, x.count) where !x.isEmpty {
            var row = [i] + Array(repeating: 0, count: y.count)
            for j in stride(from: 1, through: y.count, by: 1) {
                row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            previous = row
        }
        return previous[y.count] <= max(1, max(x.count, y.count) / 3)
    }

    private func noProvider(
        _ capability: CapabilityEntry, failures: [ProviderFailure], skipped: [String], timedOut: Bool
    ) -> ToolError {
        var parts = failures.map { "\($0.provider): \($0.error.code): \($0.error.message)" }
        parts += skipped.map { "\($0): its probe after quarantine is running" }
        for entry in capability.providers
        where !failures.contains(where: { $0.provider == entry.fullName }) && !skipped.contains(entry.fullName) {
            switch entry.record.state {
            case .failed(let error): parts.append("\(entry.fullName): failed to load: \(error.message)")
            case .loaded(let plugin) where plugin.breaker.quarantinedUntil != nil:
                parts.append("\(entry.fullName): quarantined")
            default: parts.append("\(entry.fullName): not tried, no time left")
            }
        }
        if timedOut, let last = failures.last, last.error.code == .timeout {
            return ToolError(
                .timeout,
                "capability '\(capability.name)': no provider answered within the call's deadline ("
                    + parts.joined(separator: "; ") + ")")
        }
        return ToolError(
            .pluginUnavailable,
            "capability '\(capability.name)': no provider could serve the call (" + parts.joined(separator: "; ")
                + "); retry later, or add a provider")
    }
}
