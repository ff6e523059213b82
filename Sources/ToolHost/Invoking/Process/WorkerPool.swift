import Glibc
import Synchronization

/// The warm worker processes of one plugin in `process` isolation. The scheduler already bounds how many
/// of its calls run at once, so a call takes an idle worker or starts one, and never waits for one.
final class WorkerPool: Sendable {
    let launch: WorkerProcess.Launch
    let pluginName: String
    private let idle = Mutex<[WorkerProcess]>([])
    /// Set by `shutdown()`: workers that finish a call afterwards are stopped instead of kept.
    private let closed = Atomic<Bool>(false)
    /// Calls running in this pool's workers now.
    private let busy = Atomic<Int>(0)
    /// Pids of the workers running a call now.
    private let running = Mutex<[pid_t]>([])

    init(launch: WorkerProcess.Launch, pluginName: String, first: WorkerProcess) {
        self.launch = launch
        self.pluginName = pluginName
        idle.withLock { $0.append(first) }
    }

    /// Pids of the idle workers.
    var idlePids: [pid_t] { idle.withLock { $0.map(\.pid) } }
    /// Pids of every worker, idle or running a call.
    var pids: [pid_t] { idlePids + running.withLock { $0 } }
    /// The descriptors the host holds for its idle workers (for the fault suite's leak checks).
    var idleDescriptors: [Int32] { idle.withLock { $0.flatMap(\.descriptors) } }

    /// Runs a job in a worker. Blocking: called on a host pool thread.
    func run(_ job: CallJob, maxOutputBytes: Int) -> InvocationOutcome {
        let worker: WorkerProcess
        if let warm = idle.withLock({ $0.popLast() }) {
            worker = warm
        } else {
            do {
                (worker, _, _) = try WorkerProcess.start(launch)
            } catch {
                return .error(error)
            }
        }
        let fullName = job.fullName
        // Spinning pays when calls come one at a time; with several in flight it only takes CPU from them.
        let concurrent = busy.wrappingAdd(1, ordering: .relaxed).newValue
        defer { busy.wrappingSubtract(1, ordering: .relaxed) }
        let spin = concurrent == 1 && idle.withLock { $0.isEmpty }
        let pid = worker.pid
        running.withLock { $0.append(pid) }
        defer {
            running.withLock { pids in
                if let index = pids.firstIndex(of: pid) { pids.remove(at: index) }
            }
        }
        switch worker.call(
            tool: job.tool.name, arguments: job.arguments, deadline: job.deadline, spin: spin, progress: job.progress)
        {
        case .result(let status, let output, let message):
            keep(worker)
            if status == 0 { return .success(output) }
            if status == -1 {
                return .error(ToolError(.pluginError, message ?? "tool '\(fullName)' failed in its worker"))
            }
            return .failure(status: status, message: message)
        case .timedOut:
            return .error(job.timeoutError)
        case .crashed(let how):
            return .error(
                ToolError(
                    .pluginCrashed,
                    "the worker running '\(fullName)' died (\(how)); only this call was lost, a fresh worker takes "
                        + "the next one"))
        }
    }

    private func keep(_ worker: WorkerProcess) {
        let stop = idle.withLock { workers -> Bool in
            if closed.load(ordering: .acquiring) { return true }
            workers.append(worker)
            return false
        }
        if stop { worker.killAndReap() }
    }

    /// Stops every idle worker now, and each busy one when its call ends.
    func shutdown() {
        closed.store(true, ordering: .releasing)
        let workers = idle.withLock { workers in
            defer { workers.removeAll() }
            return workers
        }
        for worker in workers { worker.killAndReap() }
    }
}
