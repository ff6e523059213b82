import ToolHostJSON

/// A plugin's `manifest.json`: the plugin, its library and every tool with its policy.
///
/// Tools are listed from the manifest alone; the library is opened on first use.
public struct PluginManifest: Sendable, Hashable {
    /// The ABI version a library was built against.
    public struct ABIVersion: Sendable, Hashable, CustomStringConvertible {
        public var major: Int
        public var minor: Int
        public init(major: Int, minor: Int) {
            self.major = major
            self.minor = minor
        }
        public var description: String { "\(major).\(minor)" }
    }

    /// The shared library of the plugin.
    public struct Library: Sendable, Hashable {
        /// The file name inside the plugin directory, or the soname of a system library.
        public var file: String
        /// The expected lower-case hex SHA-256 of the file, if the author pinned it.
        public var sha256: String?
        /// Whether `file` names a system library (opened by soname, only if the operator allows it).
        public var isSystem: Bool
        public init(file: String, sha256: String? = nil, isSystem: Bool = false) {
            self.file = file
            self.sha256 = sha256
            self.isSystem = isSystem
        }
    }

    /// The plugin name (`[a-z][a-z0-9_-]*`).
    public var name: String
    /// The plugin version; part of every cache key.
    public var version: String
    public var description: String?
    public var abi: ABIVersion
    public var library: Library
    /// The most calls of this plugin's tools that may run at once, if the author limited it.
    public var maxConcurrency: Int?
    /// Where the plugin's code runs (the operator may override it).
    public var isolation: IsolationMode = .inprocess
    /// Resource limits of each worker process (process isolation).
    public var limits = Limits()

    /// Resource limits of a worker process.
    public struct Limits: Sendable, Hashable {
        /// Address space, in MiB.
        public var memoryMB: Int?
        /// CPU time, in seconds.
        public var cpuSeconds: Int?
        /// false: each worker runs in a new, empty network namespace (nil or true: the network is allowed).
        public var network: Bool?
        public init(memoryMB: Int? = nil, cpuSeconds: Int? = nil, network: Bool? = nil) {
            self.memoryMB = memoryMB
            self.cpuSeconds = cpuSeconds
            self.network = network
        }
    }
    public var tools: [ToolManifest]
    /// The UTF-8 text this manifest was parsed from (empty for one built in code). A worker process is handed
    /// this text, the manifest the host validated, and never reads the plugin's `manifest.json` itself.
    public internal(set) var text: [UInt8] = []

    public init(
        name: String, version: String, description: String? = nil, abi: ABIVersion, library: Library,
        maxConcurrency: Int? = nil, tools: [ToolManifest]
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.abi = abi
        self.library = library
        self.maxConcurrency = maxConcurrency
        self.tools = tools
    }
}

/// One tool as its manifest declares it.
public struct ToolManifest: Sendable, Hashable {
    /// Caching of results (deterministic tools only).
    public struct CachePolicy: Sendable, Hashable {
        /// How long a result stays cached, in seconds; nil means the host default; 0 disables caching.
        public var ttlSeconds: Double?
        /// Argument names that, at any depth, make a call bypass the cache (added to the host's defaults).
        public var nonCacheableParams: [String]
        /// Whether a cached result answers every caller, or only calls of the agent whose call stored it.
        public var scope: Scope
        public init(ttlSeconds: Double? = nil, nonCacheableParams: [String] = [], scope: Scope = .shared) {
            self.ttlSeconds = ttlSeconds
            self.nonCacheableParams = nonCacheableParams
            self.scope = scope
        }

        /// Who shares a cached result (the manifest's `cache.scope`).
        public enum Scope: String, Sendable, Hashable {
            /// Every caller (the default).
            case shared
            /// Only calls of the same agent (``ToolCall/agent``): for tools whose answer depends on who asks.
            case agent
        }
    }

    /// A typed native tool: a C function called through libffi.
    public struct Native: Sendable, Hashable {
        /// The function's name in the library, or nil when the library registers it through the C ABI.
        public var symbol: String?
        public var signature: NativeSignature
        /// For a string return: the function that frees it ("free" for libc's), or nil.
        public var freeReturn: String?
        /// Whether a function declared by symbol may run on several threads at once.
        public var threadSafe: Bool
        public init(symbol: String?, signature: NativeSignature, freeReturn: String? = nil, threadSafe: Bool = false) {
            self.symbol = symbol
            self.signature = signature
            self.freeReturn = freeReturn
            self.threadSafe = threadSafe
        }
    }

    /// Retries for transient errors.
    public struct RetryPolicy: Sendable, Hashable {
        /// Attempts in all, the first included (1 = no retry).
        public var maxAttempts: Int
        /// The backoff before the first retry; it doubles each time, with jitter.
        public var initialBackoffMs: Int
        public init(maxAttempts: Int = 1, initialBackoffMs: Int = 10) {
            self.maxAttempts = maxAttempts
            self.initialBackoffMs = initialBackoffMs
        }
    }

    /// An example call, run by `toolhost check` (in a worker process) before the plugin ships.
    public struct Example: Sendable, Hashable {
        /// What the call must answer.
        public enum Expectation: Sendable, Hashable {
            /// Any successful result.
            case success
            /// This result, compared as JSON.
            case result(JSONValue)
            /// A failure with this error code (`invalid_arguments`, …).
            case error(String)
        }
        /// The arguments object, as a caller sends it.
        public var arguments: JSONValue
        public var expected: Expectation
        public init(arguments: JSONValue, expected: Expectation = .success) {
            self.arguments = arguments
            self.expected = expected
        }
    }

    /// The name within the plugin (`[a-z][a-z0-9_]*`).
    public var name: String
    public var description: String
    /// The JSON Schema of the arguments object.
    public var inputSchema: JSONValue
    public var deterministic: Bool
    public var idempotent: Bool
    public var cache: CachePolicy
    public var timeoutMs: Int?
    public var priority: Int
    public var maxConcurrency: Int?
    public var retries: RetryPolicy
    /// Free-form labels for what the tool needs (`network`, `filesystem`): shown to operators, not routed on.
    public var capabilities: [String]
    /// The capabilities the tool provides: a caller may name one instead of the tool, and the host picks the best
    /// provider among the tools of every plugin that provide it (their input schemas agree, see
    /// ``CapabilityConflict``). Names match ``capabilityNamePattern``.
    public var provides: [String] = []
    /// The provider's weight in capability routing (its score is multiplied by it); an operator's weight
    /// (`Configuration.Capabilities.weights`) wins. Default 1.
    public var weight: Double?
    /// Set for a typed native tool (its `inputSchema` is then generated from the signature).
    public var native: Native?
    /// The largest result the tool may return (the host's limit applies when smaller).
    public var maxOutputBytes: Int?
    /// Example calls for `toolhost check` (the manifest's `examples`).
    public var examples: [Example] = []
    /// The default result budget for a caller's context (a caller's own `maxResultBytes` wins): a result over it is
    /// shaped to fit by the front end, and kept whole for retrieval. Not a memory limit: that is `maxOutputBytes`.
    public var maxResultBytes: Int?

    /// The largest result a tool may return: its own `maxOutputBytes`, or the host's limit when that is smaller.
    /// The host applies it to in-process calls and each worker to the calls it runs, before a byte is buffered.
    static func outputLimit(tool: Int?, host: Int) -> Int {
        min(tool ?? host, host)
    }

    public init(
        name: String, description: String, inputSchema: JSONValue = ["type": "object"], deterministic: Bool = false,
        idempotent: Bool = false, cache: CachePolicy = CachePolicy(), timeoutMs: Int? = nil, priority: Int = 0,
        maxConcurrency: Int? = nil, retries: RetryPolicy = RetryPolicy(), capabilities: [String] = [],
        native: Native? = nil
    ) {
        self.native = native
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
        self.deterministic = deterministic
        self.idempotent = idempotent
        self.cache = cache
        self.timeoutMs = timeoutMs
        self.priority = priority
        self.maxConcurrency = maxConcurrency
        self.retries = retries
        self.capabilities = capabilities
    }
}
