import Synchronization

/// Quarantine for a plugin that keeps crashing or timing out: after `threshold` failures within `window`,
/// its calls fail fast with `plugin_unavailable` until `coolDown` has passed.
///
/// Then the breaker is half-open: calls go through again, and the first one the plugin answers (a result or its
/// own error) closes it; a crash or timeout before that opens it again at once, for another cool-down. A call by
/// capability sends one probe at a time to a half-open provider (``probing``).
public final class CircuitBreaker: Sendable {
    /// The breaker's settings.
    public struct Policy: Sendable, Hashable {
        /// Failures (crashes or timeouts) that open the breaker…
        public var threshold: Int
        /// …when they happen within this window.
        public var window: Duration
        /// How long calls then fail fast.
        public var coolDown: Duration
        public init(threshold: Int, window: Duration, coolDown: Duration) {
            self.threshold = threshold
            self.window = window
            self.coolDown = coolDown
        }
    }

    private struct State {
        var failures: [ContinuousClock.Instant] = []
        var openUntil: ContinuousClock.Instant?
        var halfOpen = false
    }

    let policy: Policy
    private let state = Mutex(State())
    /// Whether `openUntil` is set, readable without the lock: every call asks, nearly always of a closed breaker.
    private let open = Atomic<Bool>(false)
    /// Whether the cool-down passed and no call has been answered since, readable without the lock.
    private let halfOpen = Atomic<Bool>(false)
    /// Whether a call by capability holds the half-open breaker's one probe.
    let probing = Atomic<Bool>(false)

    /// The monotonic clock the breaker reads (tests inject their own).
    private let now: @Sendable () -> ContinuousClock.Instant

    init(policy: Policy, now: (@Sendable () -> ContinuousClock.Instant)? = nil) {
        self.policy = policy
        self.now = now ?? { .now }
    }

    /// When the quarantine ends, if the plugin is quarantined now.
    var quarantinedUntil: ContinuousClock.Instant? {
        guard open.load(ordering: .acquiring) else { return nil }
        return state.withLock { state in
            guard let until = state.openUntil else { return nil }
            if until <= now() {
                state.openUntil = nil
                state.failures = []
                state.halfOpen = true
                halfOpen.store(true, ordering: .releasing)
                open.store(false, ordering: .releasing)
                return nil
            }
            return until
        }
    }

    /// Records a crash or a timeout.
    /// - Returns: true when this failure opened the breaker.
    @discardableResult
    func recordFailure() -> Bool {
        let now = now()
        return state.withLock { state in
            state.failures.removeAll { now - $0 > policy.window }
            state.failures.append(now)
            guard state.openUntil == nil, state.halfOpen || state.failures.count >= policy.threshold else {
                return false
            }
            state.openUntil = now + policy.coolDown
            state.halfOpen = false
            halfOpen.store(false, ordering: .releasing)
            open.store(true, ordering: .releasing)
            return true
        }
    }

    /// Whether the cool-down passed and the plugin has not answered a call since.
    var isHalfOpen: Bool { halfOpen.load(ordering: .acquiring) }

    /// Records that the plugin answered a call (a result or its own error): a half-open breaker closes.
    @inline(__always)
    func recordAnswer() {
        guard halfOpen.load(ordering: .relaxed) else { return }
        state.withLock { state in
            state.halfOpen = false
            halfOpen.store(false, ordering: .releasing)
        }
    }
}
