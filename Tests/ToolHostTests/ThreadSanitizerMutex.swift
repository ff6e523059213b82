#if TOOLHOST_TSAN_LOCKS
    import ToolHost

    /// Under ThreadSanitizer, this module's `Mutex` is the pthread one too (Sources/ToolHost/ThreadSanitizerMutex.swift).
    typealias Mutex = ThreadSanitizerMutex
#endif
