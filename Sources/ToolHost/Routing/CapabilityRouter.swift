import Foundation
import Synchronization

/// The live statistics of every capability provider, and the score that ranks them for a call by capability.
///
/// Each provider (`<plugin>.<tool>`, across generations of its plugin) keeps three sums that decay with the clock:
/// calls, errors and milliseconds. An outcome `halfLife` old weighs half as much as one now, so old history fades;
/// once it has faded to less than a call, the provider counts as unproven again. The score (higher wins):
///
///     calls  n = decayed calls,  errors e = decayed errors,  time t = decayed milliseconds
///     error rate     r = e / (n + 1)
///     expected time  m = t / (n + 1)                       (milliseconds)
///     load           u = min(1, in flight / limit)
///     score = weight × (1 − r) × (1 − u) / (1 + complexity × m / reference)
///
/// The `+ 1` is one imaginary call that succeeded at once, so a provider with little history is not judged by one
/// outcome. A provider with less than half a call of history (none, or one call a half-life old) and no call running
/// is unproven: it goes before the others (by weight), one trial call at a time, so it is never starved, and a
/// provider whose failures have faded is tried again. Quarantined providers are left out; a half-open one (its cool-down passed)
/// goes first of all, one probe at a time.
///
/// Invariant: a provider's sums were decayed to `at`; every reader decays them to its own `now` first.
final class CapabilityRouter: Sendable {
    /// A provider's decayed sums and its lifetime counts.
    struct Figures: Sendable {
        var calls = 0.0
        var errors = 0.0
        var milliseconds = 0.0
        /// When the sums were last decayed (nanoseconds of the router's clock).
        var at: UInt64 = 0
        var totalCalls = 0
        var totalErrors = 0
        /// Calls that failed on this provider and went on to another.
        var failovers = 0
        var lastError: ToolError.Code?
    }

    /// One provider's statistics.
    final class Provider: Sendable {
        let figures = Mutex(Figures())
        /// Calls by capability running on the provider now.
        let inFlight = Atomic<Int>(0)
    }

    /// A provider as ranked for one call.
    struct Candidate {
        let entry: ToolEntry
        let provider: Provider
        let score: Double
        /// Its breaker's cool-down passed and no call was answered since: this call may be its probe.
        let halfOpen: Bool
    }

    /// The decayed calls under which a provider is unproven: none, or a single call a half-life old.
    static let provenCalls = 0.5

    private let providers = Mutex<[String: Provider]>([:])
    private let halfLifeNanoseconds: Double
    private let referenceMilliseconds: Double
    private let weights: [String: Double]
    let clock: @Sendable () -> UInt64

    init(_ settings: ToolHost.Configuration.Capabilities) {
        halfLifeNanoseconds = max(1, Double(CallDeadline.nanoseconds(settings.halfLife)))
        referenceMilliseconds = max(0.001, Double(CallDeadline.nanoseconds(settings.referenceLatency)) / 1e6)
        weights = settings.weights
        clock = settings.clock ?? { monotonicNanoseconds() }
    }

    /// The statistics of `name` (`<plugin>.<tool>`), made on first use.
    func provider(_ name: String) -> Provider {
        providers.withLock { providers in
            if let known = providers[name] { return known }
            let made = Provider()
            providers[name] = made
            return made
        }
    }

    /// The weight of a provider: the operator's, else the manifest's, else 1.
    func weight(of entry: ToolEntry) -> Double {
        weights[entry.fullName] ?? entry.manifest.weight ?? 1
    }

    /// `figures` decayed to `now`.
    func decayed(_ figures: Figures, to now: UInt64) -> Figures {
        guard now > figures.at else { return figures }
        let factor = exp2(-Double(now - figures.at) / halfLifeNanoseconds)
        var result = figures
        result.calls *= factor
        result.errors *= factor
        result.milliseconds *= factor
        result.at = now
        return result
    }

    /// Records one attempt on a provider.
    /// - Parameters:
    ///   - error: the error it failed with, if it did; nil for an answer.
    ///   - failedOver: whether the call went on to another provider.
    func record(_ provider: Provider, milliseconds: Double, error: ToolError.Code?, failedOver: Bool) {
        let now = clock()
        provider.figures.withLock { figures in
            figures = decayed(figures, to: now)
            figures.calls += 1
            figures.milliseconds += milliseconds
            figures.totalCalls += 1
            if let error {
                figures.errors += 1
                figures.totalErrors += 1
                figures.lastError = error
            }
            if failedOver { figures.failovers += 1 }
        }
    }

    /// The parts of a provider's score.
    struct Score {
        var errorRate: Double
        var expectedMilliseconds: Double
        var load: Double
        var weight: Double
        var value: Double
        var figures: Figures
    }

    /// The score of `entry` now, for a task of `complexity`.
    func score(_ entry: ToolEntry, provider: Provider, limit: Int, complexity: Double) -> Score {
        let figures = provider.figures.withLock { decayed($0, to: clock()) }
        let errorRate = figures.errors / (figures.calls + 1)
        let expected = figures.milliseconds / (figures.calls + 1)
        let load = min(1, Double(provider.inFlight.load(ordering: .relaxed)) / Double(max(1, limit)))
        let weight = weight(of: entry)
        let value = weight * (1 - errorRate) * (1 - load) / (1 + complexity * expected / referenceMilliseconds)
        return Score(
            errorRate: errorRate, expectedMilliseconds: expected, load: load, weight: weight, value: value,
            figures: figures)
    }

    /// Whether an error of a provider sends a call by capability on to the next provider (when time is left): the
    /// provider could not serve (crashed, unavailable or quarantined, overloaded, a transient failure, its own
    /// timeout). The caller's own mistakes (`invalid_arguments`) and a tool's answer (`plugin_error`) are final.
    static func failsOver(_ error: ToolError) -> Bool {
        switch error.code {
        case .pluginCrashed, .pluginUnavailable, .overloaded, .timeout: true
        case .pluginError: error.isTransient
        default: false
        }
    }
}
