import ToolHost

/// What `toolhost serve` runs with: where it listens, what it serves, its limits, and the operator's caps on
/// plugins' manifest policies.
///
/// Every setting is taken from the first source that gives it: command-line flags, then environment variables,
/// then the JSON config file (`--config FILE` or `TOOLHOST_CONFIG`), then the defaults here. Per-plugin caps
/// (`pluginOverrides`) come from the file only. Reading the sources lives in `DaemonConfiguration+Reading.swift`.
public struct DaemonConfiguration: Sendable, Equatable {
    /// `HOST:PORT` to listen on (port 0: an ephemeral port).
    public var listen = "127.0.0.1:8080"
    /// The directory holding one folder per plugin.
    public var pluginsDirectory = "plugins"
    /// A file holding the bearer token every request but `/healthz` must carry.
    public var tokenFile: String?
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes = 1 << 20
    /// On SIGTERM or SIGINT, how long calls in flight may take to finish before they are cancelled.
    public var graceSeconds: Double = 10
    /// trace, debug, info, notice, warning, error or critical.
    public var logLevel = "info"
    /// Runs every plugin inprocess or in worker processes, whatever the manifests say (nil: each manifest's).
    public var isolation: IsolationMode?
    /// The deadline of a call whose tool and caller give none, in milliseconds.
    public var defaultTimeoutMs = 30_000
    /// Calls running at once, all plugins together.
    public var maxConcurrentCalls = 64
    /// Calls waiting for a slot; past this a call is refused with `overloaded` (HTTP 429).
    public var maxQueuedCalls = 4096
    /// Calls of one plugin at once, where its manifest says nothing.
    public var defaultPluginConcurrency = 64
    /// Calls of one thread-safe tool at once, where its manifest says nothing.
    public var defaultToolConcurrency = 64
    /// How long a call that runs alone waits awake for a fast answer before it suspends, in microseconds
    /// (0...1000; 0: always suspend). See `ToolHost.Configuration.Limits.awakeWait`.
    public var awakeWaitMicroseconds = 20
    /// The most bytes of results the cache holds.
    public var cacheMaxBytes = 64 << 20
    /// Caps on plugins' manifest policies, by plugin name: the smaller of the cap and the manifest wins.
    public var pluginPolicies: [String: ToolHost.Configuration.PluginPolicy] = [:]
    /// Isolation chosen per plugin (wins over `isolation` and over the manifest).
    public var isolationOverrides: [String: IsolationMode] = [:]
    /// Where the settings came from, for the startup line: the config file, "environment", "flags" (empty:
    /// the defaults alone).
    public var sources: [String] = []

    /// The defaults.
    public init() {}

    /// The core's configuration: limits, timeouts, cache and plugin caps from these settings.
    /// - Parameter allowedSystemLibraries: sonames manifest-only plugins may open.
    /// - Returns: a configuration for `ToolHost`.
    public func hostConfiguration(allowedSystemLibraries: Set<String>) -> ToolHost.Configuration {
        var configuration = ToolHost.Configuration(pluginsDirectory: pluginsDirectory)
        configuration.allowedSystemLibraries = allowedSystemLibraries
        configuration.defaultTimeout = .milliseconds(defaultTimeoutMs)
        configuration.limits.maxConcurrentCalls = maxConcurrentCalls
        configuration.limits.maxQueuedCalls = maxQueuedCalls
        configuration.limits.defaultPluginConcurrency = defaultPluginConcurrency
        configuration.limits.defaultToolConcurrency = defaultToolConcurrency
        configuration.limits.awakeWait = .microseconds(awakeWaitMicroseconds)
        configuration.cache.maxBytes = cacheMaxBytes
        configuration.isolation.mode = isolation
        configuration.isolation.overrides = isolationOverrides
        configuration.pluginPolicies = pluginPolicies
        return configuration
    }
}

/// A setting that could not be used: which source, which key, what is wrong with it.
public struct DaemonConfigurationError: Error, CustomStringConvertible, Sendable {
    /// "config file /etc/toolhost.json", "environment variable TOOLHOST_LISTEN", "--listen".
    public let source: String
    /// The key as written in that source (nil: the source as a whole).
    public let key: String?
    public let message: String

    public init(source: String, key: String?, _ message: String) {
        self.source = source
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key { return "\(source): '\(key)' \(message)" }
        return "\(source): \(message)"
    }
}
