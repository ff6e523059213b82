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
        /// The file name inside the plugin directory.
        public var file: String
        /// The expected lower-case hex SHA-256 of the file, if the author pinned it.
        public var sha256: String?
        public init(file: String, sha256: String? = nil) {
            self.file = file
            self.sha256 = sha256
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
    public var tools: [ToolManifest]

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
        public init(ttlSeconds: Double? = nil, nonCacheableParams: [String] = []) {
            self.ttlSeconds = ttlSeconds
            self.nonCacheableParams = nonCacheableParams
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
    public var capabilities: [String]

    public init(
        name: String, description: String, inputSchema: JSONValue = ["type": "object"], deterministic: Bool = false,
        idempotent: Bool = false, cache: CachePolicy = CachePolicy(), timeoutMs: Int? = nil, priority: Int = 0,
        maxConcurrency: Int? = nil, retries: RetryPolicy = RetryPolicy(), capabilities: [String] = []
    ) {
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
