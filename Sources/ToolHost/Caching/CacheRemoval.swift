/// What clearing the cache removed (`DELETE /v1/cache`, `toolhost cache clear`).
public struct CacheRemoval: Sendable, Hashable {
    /// Entries removed from memory (L1).
    public var l1: Int
    /// Entries removed from the SQLite file (L2); nil when there is no L2, or it is off or could not be written.
    public var l2: Int?

    public init(l1: Int, l2: Int?) {
        self.l1 = l1
        self.l2 = l2
    }
}
