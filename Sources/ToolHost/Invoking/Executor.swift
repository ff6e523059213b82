import CToolHost
import Logging
import Synchronization

/// Runs one attempt of a call: through the scheduler onto a plugin thread, with its deadline and the
/// caller's cancellation. The awaiting task is resumed when the handler returns or the deadline passes,
/// whichever comes first.
final class Executor: Sendable {
    let scheduler: Scheduler
    let pool: PluginThreadPool
    let maxOutputBytes: Int
    /// When a call that runs alone waits awake for its answer (`run`).
    let awakeWaiting: AwakeWaiting
    private let sequence = Atomic<UInt64>(0)

    init(
        limits: Scheduler.Limits, maxOutputBytes: Int, awakeWait: Duration = .zero,
        pool: PluginThreadPool = PluginThreadPool()
    ) {
        self.pool = pool
        self.maxOutputBytes = maxOutputBytes
        self.awakeWaiting = AwakeWaiting(awakeWait)
        self.scheduler = Scheduler(limits: limits, pool: pool) { job, slot in
            Executor.execute(job, slot: slot, pool: pool, maxOutputBytes: maxOutputBytes)
        }
    }

    /// Runs the tool once.
    ///
    /// The job is submitted first. A call that is alone (no other call waiting for its answer) and taken by a
    /// plugin thread that is awake may then wait awake for its answer (`AwakeWaiting`, `Limits.awakeWait`): a
    /// fast tool answers in a few microseconds, and the call returns without suspending, arming a deadline or
    /// installing a cancellation handler. Otherwise (or if no answer came in time) the deadline is armed and
    /// the task suspends until the handler returns, the deadline passes or the task is cancelled.
    /// - Parameters:
    ///   - deadline: when the call must be answered, and why then.
    ///   - timing: where the plugin thread stamps when it started and ended the call (a sampled call's spans); nil:
    ///     no clock is read for it.
    @inline(__always)  // into the pipeline's frame: one async frame fewer per call
    func run(
        plugin: LoadedPlugin, tool: RegisteredTool, manifest: ToolManifest, fullName: String, arguments: [UInt8],
        deadline: CallDeadline, priority: Int, agent: String? = nil, timing: JobTiming? = nil
    ) async -> InvocationOutcome {
        let scheduler = self.scheduler
        let job = CallJob(
            plugin: plugin, tool: tool, manifest: manifest, arguments: arguments, deadline: deadline,
            priority: priority, sequence: sequence.wrappingAdd(1, ordering: .relaxed).newValue, agent: agent ?? "",
            fullName: fullName, scheduler: scheduler, progress: CallProgress.current, timing: timing)
        if Task.isCancelled { return .error(job.cancelledError) }
        let alone = scheduler.enter()
        switch scheduler.submit(job) {
        case .refused(let error):
            job.reply(.error(error))
        case .started(let awake) where alone && awake:
            if let outcome = awakeWaiting.answer(job, tool: tool) {
                // Counted where the caller returns without suspending, which is what the figure claims.
                awakeWaiting.answers.wrappingAdd(1, ordering: .relaxed)
                return outcome
            }
        case .started, .queued:
            break
        }
        return await withTaskCancellationHandler {
            await job.wait {
                // Started first, deadline armed second. A job answered in between disarms at once.
                if job.deadline != 0 { job.armDeadline() }
            }
        } onCancel: {
            job.cancellation.set()
            scheduler.abandon(job)
            job.reply(.error(job.cancelledError))
        }
    }

    /// Runs the call on the current (pool) thread and answers the job.
    private static func execute(_ job: CallJob, slot: CallSlot, pool: PluginThreadPool, maxOutputBytes hostLimit: Int) {
        // Answered (timed out or cancelled) while it waited to start: do not run it at all.
        if job.cancellation.isSet { return }
        if let timing = job.timing { timing.started.store(monotonicNanoseconds(), ordering: .releasing) }
        let maxOutputBytes = ToolManifest.outputLimit(tool: job.toolMaxOutputBytes, host: hostLimit)
        var outcome: InvocationOutcome
        if let workers = job.plugin.workers {
            outcome = workers.run(job, maxOutputBytes: hostLimit)
            if case .success(let output) = outcome, output.count > maxOutputBytes {
                outcome = .error(
                    ToolError(
                        .pluginError,
                        "tool '\(job.fullName)' returned \(output.count) bytes, over its limit of \(maxOutputBytes) "
                            + "(maxOutputBytes); return less or raise the limit"))
            }
        } else {
            outcome = InProcessInvocation.run(
                plugin: job.plugin, tool: job.tool, arguments: job.arguments, deadline: job.deadline,
                cancellation: job.cancellation, maxOutputBytes: maxOutputBytes, slot: slot, progress: job.progress)
        }
        if job.deadline != 0 && monotonicNanoseconds() >= job.deadline {
            // Past its deadline the call is a timeout, even if the handler got back before the timer thread
            // did: what it returned may be a partial result it gave up on when is_cancelled turned true.
            outcome = .error(job.timeoutError)
        } else if job.cancellation.isSet {
            outcome = .error(job.cancelledError)
        }
        // This thread is about to be free: the caller's next call (which the reply may start at once) should
        // find it rather than start a thread of its own.
        pool.willFinish(slot)
        if let timing = job.timing { timing.ended.store(monotonicNanoseconds(), ordering: .releasing) }
        job.reply(outcome)
    }
}

/// Runs one call of a loaded plugin on the calling thread: the JSON handler with its call slot, or a typed
/// function through libffi. Used by the host's pool threads and by worker processes alike.
enum InProcessInvocation {
    static func run(
        plugin: LoadedPlugin, tool: RegisteredTool, arguments: [UInt8], deadline: UInt64,
        cancellation: CancellationFlag, maxOutputBytes: Int, slot: CallSlot, progress: (any ProgressSink)? = nil
    ) -> InvocationOutcome {
        let handler: toolhost_handler_fn
        switch tool.kind {
        case .native(let function):
            return function.invoke(arguments: arguments, maxOutputBytes: maxOutputBytes)
        case .json(let jsonHandler):
            handler = jsonHandler
        case .remote:
            return .error(ToolError(.internal, "tool '\(tool.name)' runs in a worker, not in this process"))
        }
        slot.begin(
            plugin: plugin, tool: tool, deadline: deadline, cancellation: cancellation,
            maxOutputBytes: maxOutputBytes, logger: plugin.logger, progress: progress)
        let status = arguments.withUnsafeBytes { bytes in
            handler(UnsafePointer(slot.call), bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        slot.end()
        if slot.overflowed {
            return .error(
                ToolError(
                    .pluginError,
                    "tool '\(plugin.manifest.name).\(tool.name)' wrote a result over the limit of "
                        + "\(maxOutputBytes) bytes; it was discarded (raise maxOutputBytes or return less)"))
        }
        if status == Int32(TOOLHOST_OK.rawValue) {
            return .success(slot.takeOutput())
        }
        return .failure(status: status, message: slot.errorMessage)
    }
}
