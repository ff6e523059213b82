#if TOOLHOST_TSAN_LOCKS
    import Glibc

    /// The sanitizer run's stand-in for `Synchronization.Mutex` (only under ThreadSanitizer: `Sanitizers/run.sh thread`
    /// builds with `TOOLHOST_SANITIZE=thread`, which defines `TOOLHOST_TSAN_LOCKS`; ordinary builds never see it).
    ///
    /// Why: on Linux, `Mutex` takes a contended lock in `libswiftSynchronization.so` (a spin on an uninstrumented
    /// compare-and-swap, then `FUTEX_LOCK_PI`, which the kernel acquires), so ThreadSanitizer sees no ordering between
    /// two critical sections and reports every contended `withLock` as a race (Swift 6.3.1; reproduced with four threads
    /// appending to one `Mutex<[Int]>`). A pthread mutex is intercepted by ThreadSanitizer, so with this one in place
    /// every report is about the code's own accesses: the locking discipline under test is the same (each `withLock` is
    /// one critical section), only the lock underneath differs.
    ///
    /// The same API as the `Mutex` uses here: `init(_:)`, `withLock(_:)`, `withLockIfAvailable(_:)`.
    package final class ThreadSanitizerMutex<Value: ~Copyable>: @unchecked Sendable {
        private let mutex: UnsafeMutablePointer<pthread_mutex_t>
        private let value: UnsafeMutablePointer<Value>

        package init(_ initialValue: consuming sending Value) {
            mutex = .allocate(capacity: 1)
            pthread_mutex_init(mutex, nil)
            value = .allocate(capacity: 1)
            value.initialize(to: initialValue)
        }

        deinit {
            value.deinitialize(count: 1)
            value.deallocate()
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
        }

        package func withLock<Result: ~Copyable, E: Error>(
            _ body: (inout sending Value) throws(E) -> sending Result
        ) throws(E) -> sending Result {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value.pointee)
        }

        package func withLockIfAvailable<Result: ~Copyable, E: Error>(
            _ body: (inout sending Value) throws(E) -> sending Result
        ) throws(E) -> sending Result? {
            guard pthread_mutex_trylock(mutex) == 0 else { return nil }
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value.pointee)
        }
    }

    /// Shadows `Synchronization.Mutex` in this module (ToolHostTesting and ToolHostTests shadow it the same way).
    typealias Mutex = ThreadSanitizerMutex
#endif
