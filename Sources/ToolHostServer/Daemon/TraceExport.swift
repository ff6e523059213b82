import Logging
import OTel
import ServiceLifecycle
import Tracing

/// The daemon's span exporter: swift-otel's tracer with its batch processor and OTLP/HTTP exporter, run as one
/// `Service` (a group of its own that flushes the spans it holds when it shuts down).
///
/// Made only when `tracing.endpoint` is set; otherwise the host gets no tracer and nothing is started.
struct TraceExport {
    let tracer: any Tracer
    let service: any Service
    /// Where the spans go.
    let url: String

    /// - Returns: nil when no endpoint is set.
    /// - Throws: `ToolHostDaemon.StartError` when swift-otel refuses the configuration.
    static func make(_ settings: Settings.Traces, logger: Logger) throws(ToolHostDaemon.StartError) -> TraceExport? {
        guard let url = settings.tracesURL else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "toolhost"
        configuration.diagnosticLogger = .custom(logger)
        configuration.propagators = [.traceContext]
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.sampler =
            .parentBasedTraceIDRatio(ratio: settings.sampleRatio) ?? .parentBasedTraceIDRatio
        configuration.traces.otlpExporter.endpoint = url
        configuration.traces.otlpExporter.protocol =
            switch settings.wireProtocol {
            case .httpProtobuf: .httpProtobuf
            case .httpJSON: .httpJSON
            }
        do {
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            return TraceExport(tracer: backend.factory, service: backend.service, url: url)
        } catch {
            throw ToolHostDaemon.StartError(description: "tracing.endpoint \(url): the exporter cannot start: \(error)")
        }
    }
}
