import Glibc
import Synchronization

/// Work for a pool thread: a call's job, or a closure. A job is its own work item, so handing a call to the
/// pool allocates nothing.
protocol PoolWork: AnyObject {
    /// Runs on a pool thread, with that thread's call slot.
    func run(with slot: CallSlot)
}

/// Threads of the host's own on which plugin code runs, never Swift's cooperative pool.
///
/// Work is handed to an idle thread if there is one, else a new thread is started: plugin code blocks, so
/// a busy thread never delays other work. How many calls may run at once is the scheduler's business,
/// not the pool's; a hung plugin keeps its thread, and the pool simply starts another for the next call.
/// Idle threads wait briefly awake (a handoff to an awake thread is far cheaper than waking a parked
/// one), then park, and exit after `idleTimeout`.
final class PluginThreadPool: @unchecked Sendable {
    /// Work runs with the thread's own call slot (one per thread for its life: no lock per call).
    typealias Work = (CallSlot) -> Void

    private final class ClosureWork: PoolWork {
        let work: Work
        init(_ work: @escaping Work) { self.work = work }
        func run(with slot: CallSlot) { work(slot) }
    }

    private let lock = ConditionLock()
    private var queue: [any PoolWork] = []
    private var queueHead = 0
    private var idle = 0
    private var threads = 0
    private var parked = 0
    /// Threads that answered their call and are on their way back for more: a call submitted now will be
    /// taken by one of them, no new thread is needed. Raised without the lock (`willFinish`), lowered under it
    /// before the thread looks at the queue, so a submitter (under the lock) that counts a finishing thread
    /// can rely on it to find the work.
    private let finishing = Atomic<Int>(0)
    /// Idle threads polling for work (at most one: on 2 cores more would only take CPU from real work).
    private var spinning = 0
    /// Work queued and not yet taken; read without the lock by spinning threads.
    private let pending = Atomic<Int>(0)
    let idleTimeoutNs: UInt64
    /// How long an idle thread polls for work before it parks, in nanoseconds (seconds and fractions alike).
    let spinNs: UInt64
    let name: String

    /// - Parameters:
    ///   - name: the threads' name (shown by `top -H`), at most 15 bytes are kept.
    ///   - idleTimeout: how long an idle thread lingers before it exits.
    ///   - spin: how long an idle thread polls for work before it parks.
    init(name: String = "toolhost-call", idleTimeout: Duration = .seconds(30), spin: Duration = .microseconds(50)) {
        self.name = name
        self.idleTimeoutNs = UInt64(CallDeadline.nanoseconds(idleTimeout))
        self.spinNs = UInt64(CallDeadline.nanoseconds(spin))
    }

    /// The number of threads the pool owns now (busy and idle).
    var threadCount: Int { lock.withLock { threads } }

    /// Runs `work` on one of the pool's threads.
    func submit(_ work: @escaping () -> Void) {
        submit { (_: CallSlot) in work() }
    }

    /// Runs `work` on one of the pool's threads, with that thread's call slot.
    func submit(_ work: @escaping Work) {
        submit(ClosureWork(work))
    }

    /// Runs `work.run(with:)` on one of the pool's threads.
    /// - Returns: whether a thread that is awake (polling for work, or just finishing a call) will take it, so
    ///   it starts within a microsecond or so; false when a parked thread had to be woken or a new one started.
    @discardableResult
    func submit(_ work: any PoolWork) -> Bool {
        lock.lock()
        queue.append(work)
        let waiting = queue.count - queueHead
        pending.store(waiting, ordering: .releasing)
        let finishing = self.finishing.load(ordering: .acquiring)
        if idle + finishing >= waiting {
            // An idle or finishing thread will take it; wake a parked one only when the others are too few.
            let awake = idle - parked + finishing
            if waiting > awake { lock.signal() }
            lock.unlock()
            return waiting <= awake
        }
        threads += 1
        lock.unlock()
        startThread()
        return false
    }

    private func startThread() {
        if !HostThread.start(named: name, { self.run() }) {
            // Could not start a thread (resource limit): the work waits for an existing thread.
            lock.withLock { threads -= 1 }
        }
    }

    private func takeWork() -> (any PoolWork)? {
        guard queueHead < queue.count else { return nil }
        let work = queue[queueHead]
        queueHead += 1
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: queue.capacity <= 1024)
            queueHead = 0
        }
        pending.store(queue.count - queueHead, ordering: .releasing)
        return work
    }

    /// Called by work running on a pool thread just before it answers its caller: the thread is about to
    /// be free, so the caller's next call need not start another.
    func willFinish(_ slot: CallSlot) {
        slot.finishMarks &+= 1
        finishing.wrappingAdd(1, ordering: .releasing)
    }

    private func run() {
        let slot = CallSlot.acquire()
        defer { slot.release() }
        lock.lock()
        var wasFinishing = false
        while true {
            if wasFinishing {
                finishing.wrappingSubtract(1, ordering: .relaxed)
                wasFinishing = false
            }
            if let work = takeWork() {
                lock.unlock()
                let before = slot.finishMarks
                work.run(with: slot)
                lock.lock()
                wasFinishing = slot.finishMarks != before
                continue
            }
            idle += 1
            // One idle thread polls briefly with the lock released: a call that arrives now needs no wake-up.
            if spinNs > 0 && spinning == 0 {
                spinning += 1
                let spinUntil = monotonicNanoseconds() + spinNs
                lock.unlock()
                while monotonicNanoseconds() < spinUntil {
                    sched_yield()
                    if hasWorkUnlocked() { break }
                }
                lock.lock()
                spinning -= 1
                if let work = takeWork() {
                    idle -= 1
                    lock.unlock()
                    let before = slot.finishMarks
                    work.run(with: slot)
                    lock.lock()
                    wasFinishing = slot.finishMarks != before
                    continue
                }
            }
            parked += 1
            let timedOut = !lock.wait(untilMonotonicNanoseconds: monotonicNanoseconds() + idleTimeoutNs)
            parked -= 1
            idle -= 1
            if timedOut && queueHead >= queue.count {
                threads -= 1
                lock.unlock()
                return
            }
        }
    }

    /// A peek used only to end a spin early; the decision is made again under the lock.
    private func hasWorkUnlocked() -> Bool {
        pending.load(ordering: .acquiring) > 0
    }
}
