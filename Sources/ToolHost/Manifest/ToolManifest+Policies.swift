extension ToolManifest {
    /// Whether the tool may run on several threads at once, when the manifest alone says so: a typed tool declared
    /// by `symbol` carries `threadSafe`; every other tool's registration decides (nil until the library loads).
    public var declaredThreadSafe: Bool? {
        guard let native, native.symbol != nil else { return nil }
        return native.threadSafe
    }

    /// What the manifest asks for that the host never applies, each with the fix, for `check` and `list`.
    /// - Parameter threadSafe: whether the tool runs on several threads at once (the library's registration, or
    ///   ``declaredThreadSafe``); nil when not known, which leaves `maxConcurrency` unjudged.
    public func inapplicablePolicies(threadSafe: Bool?) -> [String] {
        var found: [String] = []
        if let limit = maxConcurrency, limit > 1, threadSafe == false {
            found.append(
                "tool '\(name)': maxConcurrency \(limit) cannot apply: the tool is not registered thread-safe, so its "
                    + "calls run one at a time; register it with TOOLHOST_TOOL_THREAD_SAFE (\"threadSafe\": true for "
                    + "a typed tool declared by symbol) if the handler allows it, or drop maxConcurrency")
        }
        if retries.maxAttempts > 1, !deterministic, !idempotent {
            found.append(
                "tool '\(name)': retries (maxAttempts \(retries.maxAttempts)) never apply: only a deterministic or "
                    + "idempotent tool is retried; declare \"idempotent\": true if running it twice is safe, or drop "
                    + "retries")
        }
        return found
    }
}
