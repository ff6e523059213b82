import Foundation
import Instrumentation
import Synchronization
import Tracing

/// Spans for calls, when the host was given a tracer (``ToolHost/Configuration/tracer``).
///
/// Off (no tracer) the host holds no `CallTracing` at all, and every place that would make a span tests one stored
/// optional first: no span, no attribute, no task-local is touched. On, a call the tracer does not sample (its root
/// span is not recording) costs its root span alone; a sampled call gets a ``CallTrace`` bound to
/// ``CallTrace/current`` while it runs, and the pipeline adds the phase spans to it.
///
/// Spans are made on the caller's side only, never on a plugin thread: the plugin thread stamps a ``JobTiming`` with
/// two clock readings, and the queue-wait and run spans are made from those stamps when the attempt has been answered.
final class CallTracing: Sendable {
    let tracer: any Tracer

    init(tracer: any Tracer) {
        self.tracer = tracer
    }

    /// Starts a call's root span, a child of `parent` (the agent's span, from `traceparent`) or of the current
    /// context.
    /// - Returns: the call's trace when the tracer sampled it; nil when it did not (the root span is ended then).
    func begin(tool: String, plugin: String, agent: String?, started: UInt64) -> CallTrace? {
        let parent = InstrumentationContext.current ?? .topLevel
        let clock = TraceClock()
        let span = tracer.startSpan(
            "toolhost.call", context: parent, ofKind: .internal, at: clock.instant(started), function: #function,
            file: #fileID, line: #line)
        guard span.isRecording else {
            span.end()
            return nil
        }
        span.updateAttributes { attributes in
            attributes["gen_ai.operation.name"] = "execute_tool"
            attributes["gen_ai.tool.name"] = tool
            attributes["toolhost.tool"] = tool
            attributes["toolhost.plugin"] = plugin
            if let agent {
                attributes["gen_ai.agent.name"] = agent
                attributes["toolhost.agent"] = agent
            }
        }
        return CallTrace(tracer: tracer, root: span, clock: clock)
    }

    /// Runs a call by capability under a span of its own, `toolhost.capability`, the parent of one `toolhost.call`
    /// span per provider tried; it says which provider served and how many failed over first. An unsampled call
    /// runs as it is.
    func capability(
        _ name: String, agent: String?, started: UInt64,
        _ body: () async -> Result<ToolResult, ToolError>
    ) async -> Result<ToolResult, ToolError> {
        let clock = TraceClock()
        let span = tracer.startSpan(
            "toolhost.capability", context: InstrumentationContext.current ?? .topLevel, ofKind: .internal,
            at: clock.instant(started), function: #function, file: #fileID, line: #line)
        guard span.isRecording else {
            span.end()
            return await body()
        }
        span.updateAttributes { attributes in
            attributes["toolhost.capability"] = name
            if let agent { attributes["toolhost.agent"] = agent }
        }
        let result = await InstrumentationContext.$current.withValue(span.context) { await body() }
        span.updateAttributes { attributes in
            switch result {
            case .success(let value):
                attributes["toolhost.provider"] = value.tool
                attributes["toolhost.failed_over"] = value.failedOver.count
            case .failure(let error):
                attributes["error.type"] = error.code.rawValue
            }
        }
        if case .failure(let error) = result { span.setStatus(SpanStatus(code: .error, message: error.message)) }
        span.end()
        return result
    }
}

/// One sampled call's spans: its root span, and the phases added as children of it.
final class CallTrace: Sendable {
    /// The trace of the call running in this task (bound only while a sampled call runs).
    @TaskLocal static var current: CallTrace?

    let tracer: any Tracer
    let root: any Span
    let clock: TraceClock
    /// The attempts made so far (retries and single-flight re-runs included).
    private let attempts = Atomic<Int>(0)

    init(tracer: any Tracer, root: any Span, clock: TraceClock) {
        self.tracer = tracer
        self.root = root
        self.clock = clock
    }

    /// The number of the next attempt, from 1.
    func nextAttempt() -> Int {
        attempts.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Adds a finished phase: a child of the call's span from `start` to `end` (readings of `monotonicNanoseconds`).
    /// - Parameter error: the code of the error that ended the phase, if one did.
    func phase(
        _ name: String, from start: UInt64, to end: UInt64, error: ToolError? = nil,
        attributes update: (inout SpanAttributes) -> Void = { _ in }
    ) {
        let span = tracer.startSpan(
            name, context: root.context, ofKind: .internal, at: clock.instant(start), function: #function,
            file: #fileID, line: #line)
        span.updateAttributes { attributes in
            update(&attributes)
            if let error { attributes["error.type"] = error.code.rawValue }
        }
        if let error { span.setStatus(SpanStatus(code: .error, message: error.message)) }
        span.end(at: clock.instant(max(start, end)))
    }

    /// Adds the spans of one attempt: the attempt, its queue wait and the plugin's run (or, for a plugin in a worker
    /// process, the worker round trip), from the stamps the plugin thread left in `timing`.
    func attempt(
        _ number: Int, from start: UInt64, to end: UInt64, timing: JobTiming, isolated: Bool, error: ToolError?
    ) {
        let runStart = timing.started.load(ordering: .acquiring)
        let runEnd = timing.ended.load(ordering: .acquiring)
        phase("toolhost.attempt", from: start, to: end, error: error) { $0["toolhost.attempt"] = number }
        // Never started (refused, cancelled or timed out while queued): the whole attempt was a wait.
        phase("toolhost.queue", from: start, to: runStart == 0 ? end : runStart) {
            $0["toolhost.attempt"] = number
        }
        guard runStart != 0 else { return }
        phase(
            isolated ? "toolhost.worker.round_trip" : "toolhost.plugin.run", from: runStart,
            to: runEnd == 0 ? end : runEnd, error: error
        ) { attributes in
            attributes["toolhost.attempt"] = number
            // Answered (timeout, cancellation) while the plugin still ran: the span ends at the answer.
            if runEnd == 0 { attributes["toolhost.abandoned"] = true }
        }
    }

    /// Ends the call's span with its outcome.
    func end(_ result: Result<ToolResult, ToolError>) {
        root.updateAttributes { attributes in
            switch result {
            case .success(let value):
                attributes["toolhost.outcome"] = value.cached ? "cached" : "ok"
                attributes["toolhost.cached"] = value.cached
                attributes["toolhost.attempts"] = value.attempts
            case .failure(let error):
                attributes["toolhost.outcome"] = "error"
                attributes["toolhost.cached"] = false
                attributes["error.type"] = error.code.rawValue
            }
        }
        if case .failure(let error) = result {
            root.setStatus(SpanStatus(code: .error, message: error.message))
        }
        root.end()
    }
}

/// Where the plugin thread stamps when it started and ended the call (readings of `monotonicNanoseconds`; 0: not
/// yet). Made for sampled calls only.
final class JobTiming: Sendable {
    let started = Atomic<UInt64>(0)
    let ended = Atomic<UInt64>(0)
}

/// Turns readings of the monotonic clock into the wall-clock instants spans carry: one pair of readings per call.
struct TraceClock: Sendable {
    private let wallNanoseconds: UInt64
    private let monotonic: UInt64

    init() {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        monotonic = monotonicNanoseconds()
        wallNanoseconds = UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    func instant(_ reading: UInt64) -> TraceInstant {
        TraceInstant(nanosecondsSinceEpoch: wallNanoseconds &+ reading &- monotonic)
    }
}

/// A span's start or end, in nanoseconds since the epoch.
struct TraceInstant: TracerInstant {
    let nanosecondsSinceEpoch: UInt64

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }
}

extension ToolHost {
    /// Whether calls make spans (a tracer was configured).
    public var isTracing: Bool { tracing != nil }

    /// The caller's trace context from W3C Trace Context fields (an HTTP request's headers, an MCP request's
    /// `_meta`), to put in ``ToolCall/traceContext`` so the call's span joins the caller's trace.
    /// - Parameters:
    ///   - traceparent: the `traceparent` value (`00-<trace id>-<span id>-<flags>`).
    ///   - tracestate: the `tracestate` value, if any.
    /// - Returns: nil when tracing is off or no `traceparent` was given; a context the tracer could not read a
    ///   parent from is returned as it is (the call's span then starts a trace of its own).
    public func traceContext(traceparent: String?, tracestate: String?) -> InstrumentationContext? {
        guard let tracing, let traceparent else { return nil }
        var fields = ["traceparent": traceparent]
        if let tracestate { fields["tracestate"] = tracestate }
        var context = InstrumentationContext.topLevel
        tracing.tracer.extract(fields, into: &context, using: TraceFieldExtractor())
        return context
    }
}

/// Reads W3C Trace Context fields from a dictionary of them.
private struct TraceFieldExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
