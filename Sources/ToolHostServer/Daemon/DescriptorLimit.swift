#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's limit on open descriptors (`RLIMIT_NOFILE`), checked against the HTTP connection cap.
///
/// At the limit `accept` fails with `EMFILE` and leaves the connection queued, so the listening socket stays
/// readable and the accept loop spins; plugin loads, worker pipes and files then fail too. The cap
/// (`maxConnections`) keeps the connections under the limit with ``reserve`` descriptors to spare.
enum DescriptorLimit {
    /// Descriptors kept for everything but connections: libraries, worker processes' pipes, the watcher, files.
    static let reserve = 256

    /// Raises the soft limit (never past the hard one) until `maxConnections` connections and ``reserve`` fit.
    /// - Returns: the soft limit now.
    /// - Throws: `ToolHostDaemon.StartError` when they cannot fit under the hard limit.
    @discardableResult
    static func makeRoom(forConnections maxConnections: Int) throws(ToolHostDaemon.StartError) -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return Int.max }
        let needed = rlim_t(maxConnections + reserve)
        if limit.rlim_cur != unlimited, limit.rlim_cur < needed {
            let raised = limit.rlim_max == unlimited ? needed : min(needed, limit.rlim_max)
            var wanted = limit
            wanted.rlim_cur = raised
            if setrlimit(resource, &wanted) == 0 { limit.rlim_cur = raised }
        }
        guard limit.rlim_cur == unlimited || limit.rlim_cur >= needed else {
            throw ToolHostDaemon.StartError(
                description: "maxConnections \(maxConnections) needs \(needed) descriptors with \(reserve) kept for "
                    + "plugins, but the limit is \(limit.rlim_cur) (ulimit -n): lower --max-connections or raise "
                    + "the limit")
        }
        return limit.rlim_cur == unlimited ? Int.max : Int(limit.rlim_cur)
    }

    /// `RLIM_INFINITY` (all ones).
    private static let unlimited = rlim_t.max

    #if canImport(Glibc)
        private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resource = RLIMIT_NOFILE
    #endif
}
