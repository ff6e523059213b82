/// How one attempt at a call ended, as the invoker saw it.
///
/// No duration: the pipeline times the call itself (the handler's time is inside it), so the plugin thread reads
/// no clock for it.
enum InvocationOutcome: Sendable {
    /// The handler returned TOOLHOST_OK; the bytes are what it wrote (not yet checked to be JSON).
    case success([UInt8])
    /// The handler returned an error status, with its message if it wrote one.
    case failure(status: Int32, message: String?)
    /// The call never finished: timeout, cancellation, overload, output over the limit.
    case error(ToolError)
}
