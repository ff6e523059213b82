import Foundation
import Tracing

extension ToolHost {
    /// How the host runs calls. Every field has a default; the daemon and the CLI fill it from flags,
    /// the environment and a config file.
    public struct Configuration: Sendable {
        /// Limits on concurrency and queueing.
        public struct Limits: Sendable {
            /// Calls running at once, all plugins together.
            public var maxConcurrentCalls: Int = 64
            /// Calls waiting for a slot; past this a call is refused at once with `overloaded`.
            public var maxQueuedCalls: Int = 4096
            /// Calls of one plugin at once, unless its manifest says less.
            public var defaultPluginConcurrency: Int = 64
            /// Calls of one thread-safe tool at once, unless its manifest says less.
            public var defaultToolConcurrency: Int = 64
            /// How long a call that runs alone (no other call waiting for its answer) waits for a fast answer by
            /// polling on its caller's thread, yielding between polls, before it suspends; zero: always suspend.
            /// A suspended caller is resumed by a wake-up that costs 25-35 µs when its thread has parked, so a
            /// tool that answers in a few microseconds is answered several times faster this way. Only calls
            /// taken at once by an awake plugin thread wait; a tool that did not answer in time is not waited
            /// for again on its next 16 calls. The wait ends early at the call's deadline or when the caller's
            /// task is cancelled, and is never longer than 1 ms. On a machine whose cores are all busy with other
            /// work, zero may be better: a thread that never sleeps now and then waits a time slice there.
            public var awakeWait: Duration = .microseconds(20)
            public init() {}
        }

        /// The statistics kept per agent (``ToolCall/agent``).
        public struct Agents: Sendable {
            /// The most agent names tracked (in statistics and metric labels); calls of any further agent are
            /// counted under ``AgentStatistics/overflowName``, so a flood of names cannot grow memory or labels.
            public var maxTracked: Int = 64
            /// Calls of one agent at once, all its tools together (its quota in ``quotas`` first); 0: no per-agent
            /// limit. Calls over it wait in the queue while other agents' calls run.
            public var maxConcurrentCalls: Int = 0
            /// Per-agent quotas, by agent name, over ``maxConcurrentCalls``.
            public var quotas: [String: Int] = [:]
            public init() {}
        }

        /// The result cache.
        public struct Cache: Sendable {
            /// Whether results of deterministic tools are cached at all.
            public var enabled: Bool = true
            /// The most bytes of results held (LRU past it).
            public var maxBytes: Int = 64 << 20
            /// TTL for deterministic tools whose manifest gives none.
            public var defaultTTL: Duration = .seconds(300)
            /// Argument names that, at any depth, make a call bypass the cache (manifests add their own).
            public var nonCacheableParams: Set<String> = ["timestamp", "random", "nonce", "current_time"]
            /// The L2 tier: a SQLite file behind the memory cache, so results outlive the process.
            public var l2 = L2()
            /// Milliseconds since the Unix epoch for L2's TTLs; nil: the system's clock (tests inject their own).
            public var wallClock: (@Sendable () -> Int64)?
            public init() {}
        }

        /// The L2 tier of the result cache (``SQLiteResultCache``).
        public struct L2: Sendable {
            /// Whether results are kept in the file too; nil: the command decides (on for `serve` and `mcp`, off
            /// for the CLI).
            public var enabled: Bool?
            /// The file; nil: `cache.sqlite` in the state directory (next to the library store's `libs`).
            public var path: String?
            /// The most bytes of entries the file holds (least recently used evicted past it).
            public var maxBytes: Int = 256 << 20
            /// How long a call waits for an L2 lookup before it counts as a miss.
            public var budget: Duration = .milliseconds(5)
            public init() {}

            /// `path`, else `cache.sqlite` beside the library store's folder.
            /// - Parameter libraryStore: the host's library store (`<state directory>/libs`).
            public func resolvedPath(libraryStore: String) -> String {
                if let path { return path }
                let state =
                    libraryStore.hasSuffix("/libs") ? String(libraryStore.dropLast("/libs".count)) : libraryStore
                return state + "/cache.sqlite"
            }
        }

        /// Where plugin code runs: in the host, or in worker processes.
        public struct Isolation: Sendable {
            /// Overrides every manifest's `isolation` when set.
            public var mode: IsolationMode?
            /// Overrides one plugin's `isolation` (wins over `mode`).
            public var overrides: [String: IsolationMode] = [:]
            /// The `toolhost` binary that runs workers (`toolhost worker`); default: this process's executable.
            public var workerExecutable: String?
            /// Caps a worker's address space (MiB), over the manifest's `limits.memoryMB`.
            public var memoryLimitMB: Int?
            /// Caps a worker's CPU time (seconds), over the manifest's `limits.cpuSeconds`.
            public var cpuLimitSeconds: Int?
            /// How long a new worker may take to load its plugin.
            public var startupTimeout: Duration = .seconds(10)
            /// Whether workers confine themselves before opening the plugin's library (no_new_privs and a seccomp
            /// filter denying what no tool needs; see the README's "Worker sandbox"). On by default; turning it off
            /// is for debugging a plugin under ptrace and the like.
            public var sandbox = true
            /// false cuts every worker off the network (a new, empty network namespace), whatever the manifests
            /// say. A cap: true leaves each manifest's `limits.network` in force, it never grants the network back.
            public var network = true

            /// Whether a plugin's workers are cut off the network: the manifest asked for it, or the operator.
            public func cutsNetwork(for manifest: PluginManifest) -> Bool {
                !network || manifest.limits.network == false
            }
            /// Quarantine after repeated crashes or timeouts: K failures within T, then a cool-down.
            public var quarantine = CircuitBreaker.Policy(threshold: 5, window: .seconds(60), coolDown: .seconds(30))
            /// The clock the quarantine's window and cool-down are read on; nil for the monotonic clock (tests inject
            /// their own).
            public var quarantineClock: (@Sendable () -> ContinuousClock.Instant)?
            public init() {}

            /// The operator's override, else the manifest's choice.
            public func mode(for manifest: PluginManifest) -> IsolationMode {
                overrides[manifest.name] ?? mode ?? manifest.isolation
            }

            /// This process's executable (`/proc/self/exe`).
            public static var currentExecutable: String {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                    ?? CommandLine.arguments[0]
            }
        }

        /// An operator's caps on one plugin's manifest policy. A cap can only lower what the manifest (or, where
        /// the manifest is silent, the host default) allows: the smaller value wins, so no setting here raises a
        /// limit past the manifest. Isolation is not a cap: it is set per plugin in `Isolation.overrides`.
        public struct PluginPolicy: Sendable, Hashable {
            /// Caps the timeout of each of the plugin's tools (the call's own timeout can lower it further).
            public var timeoutMs: Int?
            /// Caps the plugin's calls at once.
            public var maxConcurrency: Int?
            /// Caps the calls at once of each of the plugin's tools.
            public var toolMaxConcurrency: Int?
            /// Caps the cache TTL of each deterministic tool; 0: the plugin's results are never cached.
            public var cacheTTLSeconds: Double?
            /// Caps on single tools, by tool name (without the plugin's name), under the plugin's own caps: for each
            /// field the smallest of the tool's cap, the plugin's cap and the manifest wins.
            public var tools: [String: ToolPolicy]

            public init(
                timeoutMs: Int? = nil, maxConcurrency: Int? = nil, toolMaxConcurrency: Int? = nil,
                cacheTTLSeconds: Double? = nil, tools: [String: ToolPolicy] = [:]
            ) {
                self.timeoutMs = timeoutMs
                self.maxConcurrency = maxConcurrency
                self.toolMaxConcurrency = toolMaxConcurrency
                self.cacheTTLSeconds = cacheTTLSeconds
                self.tools = tools
            }

            /// The caps that apply to one of the plugin's tools: the plugin's, lowered by the tool's own.
            public func caps(forTool name: String) -> ToolPolicy {
                let own = tools[name]
                func smaller<T: Comparable>(_ a: T?, _ b: T?) -> T? {
                    guard let a else { return b }
                    guard let b else { return a }
                    return min(a, b)
                }
                return ToolPolicy(
                    timeoutMs: smaller(timeoutMs, own?.timeoutMs),
                    maxConcurrency: smaller(toolMaxConcurrency, own?.maxConcurrency),
                    cacheTTLSeconds: smaller(cacheTTLSeconds, own?.cacheTTLSeconds))
            }
        }

        /// An operator's caps on one tool (`PluginPolicy.tools`); like the plugin's, they only ever lower.
        public struct ToolPolicy: Sendable, Hashable {
            /// Caps the tool's timeout.
            public var timeoutMs: Int?
            /// Caps the tool's calls at once.
            public var maxConcurrency: Int?
            /// Caps the tool's cache TTL; 0: its results are never cached.
            public var cacheTTLSeconds: Double?

            public init(timeoutMs: Int? = nil, maxConcurrency: Int? = nil, cacheTTLSeconds: Double? = nil) {
                self.timeoutMs = timeoutMs
                self.maxConcurrency = maxConcurrency
                self.cacheTTLSeconds = cacheTTLSeconds
            }
        }

        /// Calls by capability: how providers are scored (see the README's "Capabilities").
        public struct Capabilities: Sendable {
            /// How fast a provider's history fades: an outcome this old weighs half as much as one now.
            public var halfLife: Duration = .seconds(60)
            /// The expected time at which a provider's score halves, for a task of complexity 1.
            public var referenceLatency: Duration = .milliseconds(100)
            /// Operator weights by `<plugin>.<tool>` (0.01...100): a provider's score is multiplied by its weight;
            /// wins over the manifest's `weight`.
            public var weights: [String: Double] = [:]
            /// Nanoseconds of a monotonic clock for the statistics' decay; nil for CLOCK_MONOTONIC (tests inject
            /// their own).
            public var clock: (@Sendable () -> UInt64)?
            public init() {}
        }

        /// The directory holding one folder per plugin.
        public var pluginsDirectory: String
        /// Where each call's spans go (the daemon's OTLP exporter when `tracing.endpoint` is set); nil: no spans, and
        /// the pipeline makes none (its cost is one test of a stored optional per phase).
        public var tracer: (any Tracer)?
        /// Where private copies of libraries are kept (see `LibraryStore`).
        public var libraryStore: String
        /// The deadline of a call whose tool and caller give none.
        public var defaultTimeout: Duration = .seconds(30)
        public var limits = Limits()
        /// Per-agent statistics.
        public var agents = Agents()
        public var isolation = Isolation()
        public var cache = Cache()
        public var capabilities = Capabilities()
        /// Caps on the manifest policy of plugins, by plugin name.
        public var pluginPolicies: [String: PluginPolicy] = [:]
        /// The largest result a tool may write; a larger one is refused with `plugin_error`.
        public var maxOutputBytes: Int = 16 << 20
        /// How many attempts in all a retryable tool gets when its manifest does not say.
        public var defaultMaxAttempts: Int = 1
        /// System libraries (by soname) that a manifest-only plugin may name in `library.system`. Nothing else
        /// is reachable, so a plugin cannot expose arbitrary libc functions.
        public var allowedSystemLibraries: Set<String> = Configuration.defaultAllowedSystemLibraries
        /// Refuse a plugin whose folder, manifest or library is writable by every user, or whose library is a
        /// symbolic link out of its folder (by default such a plugin loads, with a warning in the log).
        public var strictFilePermissions = false

        /// Whether plugins must be signed (`toolhost sign`) by a key the operator trusts.
        public var signatures = Signatures()

        /// Signed plugins: what the loader does with a plugin's `manifest.sig`, and which keys it trusts.
        public struct Signatures: Sendable, Hashable {
            /// `off` (the default): signatures are not looked at; `warn`: an unsigned, tampered or untrusted plugin
            /// loads, with a warning in the log; `require`: it is refused with `plugin_unavailable`.
            public var mode: SignatureMode = .off
            /// The operator's trust store: a directory of public keys (`*.pub`, written by `toolhost keygen`).
            /// Read at each load, so a key added to it counts from the next load on.
            public var trustedKeysDirectory: String?
            public init(mode: SignatureMode = .off, trustedKeysDirectory: String? = nil) {
                self.mode = mode
                self.trustedKeysDirectory = trustedKeysDirectory
            }
        }

        /// libm and zlib, for the bundled math and checksum plugins.
        public static let defaultAllowedSystemLibraries: Set<String> = ["libm.so.6", "libz.so.1"]

        /// - Parameters:
        ///   - pluginsDirectory: the directory holding one folder per plugin.
        ///   - libraryStore: where private copies of libraries go; the default is described at `LibraryStore`.
        public init(pluginsDirectory: String, libraryStore: String? = nil) {
            self.pluginsDirectory = pluginsDirectory
            self.libraryStore = libraryStore ?? LibraryStore.defaultDirectory
        }
    }
}

/// What the loader does about plugin signatures (``ToolHost/Configuration/Signatures``).
public enum SignatureMode: String, Sendable, Hashable, CaseIterable {
    /// Signatures are not looked at.
    case off
    /// A plugin that is not signed by a trusted key loads, with a warning naming the plugin and the reason.
    case warn
    /// A plugin that is not signed by a trusted key is refused with `plugin_unavailable`.
    case require
}

/// Where a plugin's code runs.
public enum IsolationMode: String, Sendable, Hashable, CaseIterable {
    /// In the host process, on its own threads: fastest; a crash takes the host down, a hung call can only
    /// be abandoned.
    case inprocess
    /// In worker processes: a timeout is a hard kill, a crash costs one call.
    case process
}
