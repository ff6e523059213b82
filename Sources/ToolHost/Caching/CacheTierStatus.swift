/// What one tier of the result cache holds and how it has done since the host started (`GET /v1/cache`,
/// `toolhost cache stats`, the `toolhost_cache_tier_*` metrics).
public struct CacheTierStatus: Sendable, Hashable {
    /// `l1` (memory) or `l2` (the SQLite file).
    public var tier: String
    /// `on` (L1), `ready`, `opening`, `recovering` (a bad file is being moved aside), or `off` (not configured,
    /// or the file cannot be used; `problem` says why).
    public var state: String
    /// Entries held.
    public var entries: Int
    /// Bytes held (results plus a fixed per-entry overhead), never more than `maxBytes`.
    public var bytes: Int
    /// The bound on `bytes`.
    public var maxBytes: Int
    /// Lookups answered from this tier.
    public var hits: Int
    /// Lookups this tier could not answer (including those cut by the lookup budget).
    public var misses: Int
    /// Lookups cut short by the lookup budget (counted in `misses` too).
    public var timeouts: Int
    /// Failed reads and writes, writes dropped because too many were pending, and files moved aside.
    public var errors: Int
    /// The SQLite file (L2).
    public var path: String?
    /// Why the tier is `off`, when it is.
    public var problem: String?

    public init(
        tier: String, state: String, entries: Int = 0, bytes: Int = 0, maxBytes: Int = 0, hits: Int = 0,
        misses: Int = 0, timeouts: Int = 0, errors: Int = 0, path: String? = nil, problem: String? = nil
    ) {
        self.tier = tier
        self.state = state
        self.entries = entries
        self.bytes = bytes
        self.maxBytes = maxBytes
        self.hits = hits
        self.misses = misses
        self.timeouts = timeouts
        self.errors = errors
        self.path = path
        self.problem = problem
    }
}
