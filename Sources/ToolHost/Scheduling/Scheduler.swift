import Synchronization

/// Admission control: a global limit on calls in flight, per-plugin, per-tool and per-agent limits, and a bounded
/// wait queue served by priority (higher first), and within a priority fairly between agents.
///
/// Fair queueing: each queued job gets a tag, its agent's next one but never below the tag of the latest job
/// started (start-time fair queueing). The queue is ordered by priority, then tag, then arrival, so an agent that
/// queued thousands of calls takes turns with one that queues ten later, instead of going first with all of them;
/// an agent alone is served first come first served as before. Calls with no agent share the agent "".
///
/// Invariant: after every change, each queued job is blocked by some limit; so a new job that fits
/// every limit may start at once without overtaking anyone who could have run.
///
/// A job holds three slots while it runs: one of the global ones, one of its plugin's and one of its
/// tool's. When its caller stops waiting (timeout, cancellation) the global slot is given back at once,
/// but the plugin and tool slots stay taken until the handler really returns: a hung plugin uses up its
/// own slots, never another plugin's, and a tool that is not thread-safe never runs twice at once.
final class Scheduler: @unchecked Sendable {
    /// The limits the scheduler enforces.
    struct Limits: Sendable {
        var maxConcurrentCalls: Int
        var maxQueuedCalls: Int
        var defaultPluginConcurrency: Int
        var defaultToolConcurrency: Int
        /// The operator's caps, by plugin name (`maxConcurrency`, `toolMaxConcurrency`).
        var policies: [String: ToolHost.Configuration.PluginPolicy] = [:]
        /// Calls of one agent at once (its own quota in `agentQuotas` first); nil: no per-agent limit.
        var agentMaxConcurrentCalls: Int? = nil
        var agentQuotas: [String: Int] = [:]

        /// Whether any agent has a limit of its own (only then are calls counted per agent).
        var limitsAgents: Bool { agentMaxConcurrentCalls != nil || !agentQuotas.isEmpty }

        func quota(of agent: String) -> Int? {
            agentQuotas[agent] ?? agentMaxConcurrentCalls
        }
    }

    private struct State {
        var running = 0
        var queue: [CallJob] = []
        /// The tag of the latest job started: where a newly queued agent's tags begin.
        var virtualTime: UInt64 = 0
        /// Each agent's next tag, while it is ahead of `virtualTime` (older entries are dropped: they mean the same
        /// as none).
        var nextTag: [String: UInt64] = [:]
        /// Calls holding a global slot, per agent (kept only when some agent has a limit).
        var runningByAgent: [String: Int] = [:]
    }

    private let state = Mutex(State())
    /// Calls submitted whose callers have not been answered yet (a call answered by a timeout while its handler
    /// still runs is not counted). Read without a lock to tell a call that runs alone.
    private let unanswered = Atomic<Int>(0)
    private let limits: Limits
    private let pool: PluginThreadPool
    /// Runs a job's handler on a pool thread and answers its caller (the executor's part; it holds no reference
    /// back to the scheduler, so neither keeps the other alive).
    private let execute: @Sendable (CallJob, CallSlot) -> Void

    /// - Parameter execute: runs a job's handler on a pool thread and answers the job; the scheduler frees the job's
    ///   slots when it returns.
    init(limits: Limits, pool: PluginThreadPool, execute: @escaping @Sendable (CallJob, CallSlot) -> Void) {
        self.limits = limits
        self.pool = pool
        self.execute = execute
    }

    /// Calls in flight (holding a global slot) and calls waiting, for stats and tests.
    var load: (running: Int, queued: Int) {
        state.withLock { ($0.running, $0.queue.count) }
    }

    /// The manifest's limit (else the default), lowered by the operator's cap if any, never over the global one.
    func pluginLimit(_ job: CallJob) -> Int {
        var limit = min(
            job.plugin.manifest.maxConcurrency ?? limits.defaultPluginConcurrency, limits.maxConcurrentCalls)
        if !limits.policies.isEmpty, let cap = limits.policies[job.plugin.manifest.name]?.maxConcurrency {
            limit = min(limit, cap)
        }
        return limit
    }

    func toolLimit(_ job: CallJob) -> Int {
        guard job.tool.threadSafe else { return 1 }
        var limit = min(job.toolMaxConcurrency ?? limits.defaultToolConcurrency, pluginLimit(job))
        if !limits.policies.isEmpty,
            let cap = limits.policies[job.plugin.manifest.name]?.caps(forTool: job.tool.name).maxConcurrency
        {
            limit = min(limit, cap)
        }
        return limit
    }

    private func fits(_ job: CallJob, _ state: State) -> Bool {
        state.running < limits.maxConcurrentCalls && job.plugin.gate.running < pluginLimit(job)
            && job.tool.gate.running < toolLimit(job) && fitsAgentQuota(job, state)
    }

    private func fitsAgentQuota(_ job: CallJob, _ state: State) -> Bool {
        guard limits.limitsAgents, let quota = limits.quota(of: job.agent) else { return true }
        return state.runningByAgent[job.agent, default: 0] < quota
    }

    private func start(_ job: CallJob, _ state: inout State) {
        state.running += 1
        if limits.limitsAgents { state.runningByAgent[job.agent, default: 0] += 1 }
        if job.tag > state.virtualTime { state.virtualTime = job.tag }
        job.plugin.gate.running += 1
        job.tool.gate.running += 1
        job.phase = .running
        job.holdsGlobalSlot = true
    }

    /// Counts a call about to be submitted until its caller is answered (`answered()`).
    /// - Returns: whether no other call is waiting for its answer.
    func enter() -> Bool {
        unanswered.wrappingAdd(1, ordering: .relaxed).oldValue == 0
    }

    /// Calls whose callers are waiting for their answer (for tests).
    var unansweredCount: Int { unanswered.load(ordering: .relaxed) }

    /// A call's caller was answered (by its handler, its deadline, a cancellation or a refusal).
    func answered() {
        unanswered.wrappingSubtract(1, ordering: .relaxed)
    }

    /// What `submit` did with a job.
    enum Admission {
        /// Handed to the pool; `awake` when a thread that is awake takes it (no wake-up, no new thread).
        case started(awake: Bool)
        /// Waiting for a slot (or its caller had already stopped waiting).
        case queued
        /// `overloaded`: the wait queue is full; the job was neither started nor queued.
        case refused(ToolError)
    }

    /// Starts the job now, or queues it.
    func submit(_ job: CallJob) -> Admission {
        let (startNow, refused) = state.withLock { state -> (Bool, Bool) in
            // Its caller may have stopped waiting before it got here.
            if job.phase == .abandoned { return (false, false) }
            if fits(job, state) {
                start(job, &state)
                return (true, false)
            }
            if state.queue.count >= limits.maxQueuedCalls { return (false, true) }
            job.tag = Self.nextTag(for: job.agent, in: &state)
            insert(job, into: &state.queue)
            job.phase = .queued
            return (false, false)
        }
        if refused {
            return .refused(
                ToolError(
                    .overloaded,
                    "the host's wait queue is full (\(limits.maxQueuedCalls) calls waiting, "
                        + "\(limits.maxConcurrentCalls) running): retry later or raise maxQueuedCalls"))
        }
        return startNow ? .started(awake: dispatch(job)) : .queued
    }

    /// Runs a started job on the current pool thread, then frees its slots.
    func run(_ job: CallJob, slot: CallSlot) {
        execute(job, slot)
        completed(job)
    }

    /// The job's handler returned: frees its slots and starts whoever may run now.
    private func completed(_ job: CallJob) {
        let started = state.withLock { state -> [CallJob] in
            job.plugin.gate.running -= 1
            job.tool.gate.running -= 1
            if job.holdsGlobalSlot {
                job.holdsGlobalSlot = false
                releaseGlobalSlot(of: job, &state)
            }
            job.phase = .done
            return admit(&state)
        }
        for job in started { dispatch(job) }
    }

    /// The job's caller stopped waiting (timeout or cancellation): it leaves the queue, or gives back its
    /// global slot while its handler keeps its plugin and tool slots until it returns.
    func abandon(_ job: CallJob) {
        let started = state.withLock { state -> [CallJob] in
            switch job.phase {
            case .queued:
                if let index = state.queue.firstIndex(where: { $0 === job }) { state.queue.remove(at: index) }
                job.phase = .abandoned
                return []
            case .running where job.holdsGlobalSlot:
                job.holdsGlobalSlot = false
                releaseGlobalSlot(of: job, &state)
                return admit(&state)
            case .new:
                job.phase = .abandoned
                return []
            default:
                return []
            }
        }
        for job in started { dispatch(job) }
    }

    @discardableResult
    private func dispatch(_ job: CallJob) -> Bool {
        pool.submit(job)  // runs `execute(job, slot)` (CallJob.run(with:))
    }

    /// Starts every queued job that fits, in queue order.
    private func admit(_ state: inout State) -> [CallJob] {
        guard !state.queue.isEmpty, state.running < limits.maxConcurrentCalls else { return [] }
        var started: [CallJob] = []
        var index = 0
        while index < state.queue.count && state.running < limits.maxConcurrentCalls {
            let job = state.queue[index]
            if fits(job, state) {
                state.queue.remove(at: index)
                start(job, &state)
                started.append(job)
            } else {
                index += 1
            }
        }
        return started
    }

    private func releaseGlobalSlot(of job: CallJob, _ state: inout State) {
        state.running -= 1
        guard limits.limitsAgents else { return }
        let left = state.runningByAgent[job.agent, default: 1] - 1
        state.runningByAgent[job.agent] = left > 0 ? left : nil
    }

    /// The tag of an agent's newly queued job: its next one, but never behind the latest started job's (an agent
    /// that was idle joins the turn now, without credit for the time it queued nothing).
    private static func nextTag(for agent: String, in state: inout State) -> UInt64 {
        let tag = max(state.nextTag[agent] ?? 0, state.virtualTime)
        state.nextTag[agent] = tag + 1
        if state.nextTag.count > 256 {
            // Entries at or behind the virtual time mean the same as none: bounded by the agents with calls queued.
            let now = state.virtualTime
            state.nextTag = state.nextTag.filter { $0.value > now }
        }
        return tag
    }

    /// Keeps the queue sorted by priority (higher first), then tag (fair turns between agents), then arrival.
    private func insert(_ job: CallJob, into queue: inout [CallJob]) {
        var low = 0
        var high = queue.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(queue[middle], job) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        queue.insert(job, at: low)
    }

    private static func precedes(_ lhs: CallJob, _ rhs: CallJob) -> Bool {
        if lhs.priority != rhs.priority { return lhs.priority > rhs.priority }
        if lhs.tag != rhs.tag { return lhs.tag < rhs.tag }
        return lhs.sequence < rhs.sequence
    }
}
