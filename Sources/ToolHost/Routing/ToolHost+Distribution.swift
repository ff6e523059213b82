import Foundation
import ToolHostJSON

/// A task for ``ToolHost/distribute(_:concurrency:)``: what it needs and its arguments; the host picks the tool.
public struct DistributedTask: Sendable {
    /// The caller's name for the task, echoed in its outcome.
    public var id: String
    /// The capabilities the task needs: it goes to a tool that provides all of them.
    public var requires: [String]
    public var arguments: JSONValue
    public var priority: Int?
    /// A factor on each provider's expected time in its score (``ToolCall/complexityRange``).
    public var complexity: Double?
    /// The task's whole deadline, failovers included.
    public var timeout: Duration?

    public init(
        id: String, requires: [String], arguments: JSONValue = [:], priority: Int? = nil, complexity: Double? = nil,
        timeout: Duration? = nil
    ) {
        self.id = id
        self.requires = requires
        self.arguments = arguments
        self.priority = priority
        self.complexity = complexity
        self.timeout = timeout
    }
}

/// What ``ToolHost/distribute(_:concurrency:)`` answers: each task's outcome in input order, and how each provider
/// was used.
public struct Distribution: Sendable {
    /// One task's outcome.
    public struct Outcome: Sendable {
        public var id: String
        /// The result (``ToolResult/tool`` names the provider) or the error.
        public var result: Result<ToolResult, ToolError>
        /// How long the task took, failovers included.
        public var duration: Duration
    }

    /// One provider's share of the work: every attempt it made for these tasks.
    public struct Utilisation: Sendable {
        /// `<plugin>.<tool>`.
        public var provider: String
        public var calls: Int
        public var errors: Int
        public var meanMilliseconds: Double
        /// The 99th percentile of its attempts' times (nearest rank).
        public var p99Milliseconds: Double
        /// Calls by capability running on it when the report was made, and the most it takes at once.
        public var inFlight: Int
        public var limit: Int
        /// `errors / calls`.
        public var errorRate: Double { calls == 0 ? 0 : Double(errors) / Double(calls) }
    }

    /// In input order.
    public var outcomes: [Outcome]
    /// By provider name.
    public var utilisation: [Utilisation]
}

extension ToolHost {
    /// The most tasks a caller may run at once in one distribution.
    public static let distributionConcurrencyRange: ClosedRange<Int64> = 1...1024

    /// Runs tasks in parallel, each on the best available tool that provides every capability it requires, failing
    /// over to the next such tool within the task's deadline (as a call by capability does).
    ///
    /// A task no tool can take (an unknown capability, or no tool providing all of them) gets a `not_found` error
    /// of its own; the others run.
    /// - Parameters:
    ///   - tasks: the tasks, answered in this order.
    ///   - concurrency: how many run at once (the host's limits still apply).
    /// - Returns: every task's outcome, and each provider's calls, times, errors and load.
    public func distribute(
        _ tasks: [DistributedTask], concurrency: Int = 16, agent: String? = nil
    ) async -> Distribution {
        let log = AttemptLog()
        let snapshot = registry.snapshot
        let outcomes = await inParallel(tasks.count, width: concurrency) { index in
            let task = tasks[index]
            let started = monotonicNanoseconds()
            let result: Result<ToolResult, ToolError>
            do throws(ToolError) {
                try ToolCall.checkRanges(priority: task.priority, timeout: task.timeout, complexity: task.complexity)
                if self.isDraining { throw Self.shuttingDown }
                let providers = try self.providers(of: task.requires, in: snapshot)
                result = .success(
                    try await self.callBest(
                        of: providers, arguments: task.arguments, priority: task.priority, timeout: task.timeout,
                        complexity: task.complexity, agent: agent, started: started, log: log))
            } catch {
                result = .failure(error)
            }
            return Distribution.Outcome(id: task.id, result: result, duration: elapsed(since: started))
        }
        var attempts: [String: (entry: ToolEntry, times: [Double], errors: Int)] = [:]
        for attempt in log.all {
            let name = attempt.provider.fullName
            var figures = attempts[name] ?? (attempt.provider, [], 0)
            figures.times.append(attempt.milliseconds)
            if attempt.error != nil { figures.errors += 1 }
            attempts[name] = figures
        }
        let utilisation = attempts.keys.sorted().compactMap { name -> Distribution.Utilisation? in
            guard let figures = attempts[name] else { return nil }
            let sorted = figures.times.sorted()
            let rank = max(0, Int((0.99 * Double(sorted.count)).rounded(.up)) - 1)
            return Distribution.Utilisation(
                provider: name, calls: sorted.count, errors: figures.errors,
                meanMilliseconds: sorted.reduce(0, +) / Double(max(1, sorted.count)), p99Milliseconds: sorted[rank],
                inFlight: router.provider(name).inFlight.load(ordering: .relaxed), limit: limit(of: figures.entry))
        }
        return Distribution(outcomes: outcomes, utilisation: utilisation)
    }

    /// The tools that provide every capability in `requires`, as one capability entry ranked like any other.
    private func providers(of requires: [String], in snapshot: Registry.Snapshot) throws(ToolError) -> CapabilityEntry {
        guard !requires.isEmpty else {
            throw ToolError(.invalidArguments, "a task must require at least one capability (\"requires\")")
        }
        var providers: [ToolEntry]?
        for name in requires {
            guard let capability = snapshot.capabilities[name] else { throw capabilityNotFound(name, in: snapshot) }
            providers =
                providers.map { kept in kept.filter { entry in capability.providers.contains { $0 === entry } } }
                ?? capability.providers
        }
        guard let providers, !providers.isEmpty else {
            let each = requires.map { name in
                "'\(name)' by " + (snapshot.capabilities[name]?.providers.map(\.fullName) ?? []).joined(separator: ", ")
            }
            throw ToolError(
                .notFound,
                "no tool provides all of " + requires.map { "'\($0)'" }.joined(separator: ", ") + " ("
                    + each.joined(separator: "; ") + "): split the task, or add a tool that provides them all")
        }
        return requires.count == 1
            ? (snapshot.capabilities[requires[0]] ?? CapabilityEntry(name: requires[0], providers: providers))
            : CapabilityEntry(name: requires.joined(separator: "+"), providers: providers)
    }
}
