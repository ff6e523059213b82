import ToolHostJSON

/// A successful call's result.
public struct ToolResult: Sendable {
    /// `<plugin>.<tool>`.
    public var tool: String
    /// The result: one JSON value, as UTF-8 bytes (checked to be JSON).
    public var output: [UInt8]
    /// Whether the result came from the cache.
    public var cached: Bool
    /// Whether this call waited for an identical call that was running and shares its result.
    public var shared: Bool
    /// How long this call took in the host.
    public var duration: Duration
    /// For a cache hit: how long the call that produced the result took.
    public var originalDuration: Duration?
    /// Attempts made (more than 1 after retries of transient errors).
    public var attempts: Int
    /// The tool's default result budget (its manifest's `maxResultBytes`), for a call that gives none.
    public var defaultMaxResultBytes: Int? = nil
    /// For a call by capability: the capability; ``tool`` is the provider that served it.
    public var capability: String? = nil
    /// For a call by capability: the providers tried before ``tool``, each with the error it failed with.
    public var failedOver: [ProviderFailure] = []

    /// The result parsed.
    public var json: JSONValue {
        (try? JSONValue.parse(output)) ?? .null
    }

    /// The result as text.
    public var text: String { String(decoding: output, as: UTF8.self) }
}

/// A provider of a capability that failed a call by capability, which went on to the next provider.
public struct ProviderFailure: Sendable {
    /// `<plugin>.<tool>`.
    public var provider: String
    public var error: ToolError
}

/// A tool as the registry lists it.
public struct ToolInfo: Sendable {
    /// `<plugin>.<tool>`.
    public var name: String
    public var plugin: String
    public var pluginVersion: String
    /// The tool's declaration (description, input schema, policy).
    public var manifest: ToolManifest
}

/// A plugin and its state.
public struct PluginInfo: Sendable {
    public enum State: String, Sendable {
        /// Known from its manifest; the library has not been opened.
        case listed
        /// The library is being opened.
        case loading
        /// The library is open and its tools are callable.
        case loaded
        /// The library could not be loaded; `error` says why.
        case failed
    }

    public var name: String
    public var version: String
    public var directory: String
    public var state: State
    public var error: ToolError?
    public var tools: [String]
    /// Where its code runs.
    public var isolation: IsolationMode
    /// Whether its calls currently fail fast after repeated crashes or timeouts.
    public var quarantined: Bool
    /// Why a newer version in its directory is not serving (invalid manifest, or a library that failed to load)
    /// while this one goes on; nil when the directory holds what is serving.
    public var rejectedUpdate: ToolError?
    /// Its tools refused as providers of a capability (their input schema disagrees with the first provider's).
    public var capabilityConflicts: [CapabilityConflict] = []
}
