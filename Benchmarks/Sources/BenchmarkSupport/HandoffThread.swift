import Synchronization

import Glibc

/// The baseline for one call at a time: a dedicated pthread that runs closures handed to it, guarded by a
/// pthread mutex and condition variable. `hop()` hands it a closure that resumes a `CheckedContinuation`,
/// the irreducible cost of getting from a Swift task onto a thread of our own and back.
///
/// With `spin` > 0 the idle thread polls for work with `sched_yield()` for that long before it parks, as
/// `PluginThreadPool` does; with zero it parks at once and every hop pays a futex wake-up.
public final class HandoffThread: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var work: (() -> Void)?
    private var parked = false
    /// Set when work is waiting; read without the lock by the spinning thread.
    private let pending = Atomic<Bool>(false)
    private let spinNanoseconds: UInt64

    public init(spin: Duration) {
        spinNanoseconds =
            UInt64(spin.components.seconds) * 1_000_000_000
            + UInt64(spin.components.attoseconds / 1_000_000_000)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<HandoffThread>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }

    /// Hands an empty job to the thread and waits until the thread has resumed us.
    public func hop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            submit { continuation.resume() }
        }
    }

    /// Hands an empty job to the thread and polls (yielding the CPU between polls) until the thread has run it,
    /// without suspending: the bare form of a caller that waits awake for its answer (`Limits.awakeWait`).
    /// Blocks the calling thread, briefly; for the comparison only.
    public func hopAwake() {
        let done = Flag()
        submit { done.value.store(true, ordering: .releasing) }
        while !done.value.load(ordering: .acquiring) { sched_yield() }
    }

    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Runs `body` on the thread and waits until the thread has resumed us.
    public func run(_ body: @escaping () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            submit {
                body()
                continuation.resume()
            }
        }
    }

    private func submit(_ job: @escaping () -> Void) {
        pthread_mutex_lock(mutex)
        precondition(work == nil, "one job at a time")
        work = job
        pending.store(true, ordering: .releasing)
        let wake = parked
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(condition) }
    }

    private func run() {
        pthread_mutex_lock(mutex)
        while true {
            if let job = work {
                work = nil
                pending.store(false, ordering: .relaxed)
                pthread_mutex_unlock(mutex)
                job()
                pthread_mutex_lock(mutex)
                continue
            }
            if spinNanoseconds > 0 {
                pthread_mutex_unlock(mutex)
                let until = Self.now() + spinNanoseconds
                while !pending.load(ordering: .acquiring) && Self.now() < until {
                    sched_yield()
                }
                pthread_mutex_lock(mutex)
                if work != nil { continue }
            }
            parked = true
            while work == nil { pthread_cond_wait(condition, mutex) }
            parked = false
        }
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
