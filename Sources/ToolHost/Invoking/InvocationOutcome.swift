/// How one attempt at a call ended, as the invoker saw it.
enum InvocationOutcome: Sendable {
    /// The handler returned TOOLHOST_OK; the bytes are what it wrote (not yet checked to be JSON).
    case success([UInt8], duration: Duration)
    /// The handler returned an error status, with its message if it wrote one.
    case failure(status: Int32, message: String?, duration: Duration)
    /// The call never finished: timeout, cancellation, overload, output over the limit.
    case error(ToolError)
}
