import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization

/// The L2 result cache: results of deterministic tools in a SQLite file that outlives the process, behind the
/// in-memory L1 (``ResultCache``). Keyed as L1 (``CacheKey``: plugin, version, the library's sha256, tool, canonical
/// arguments), bounded in bytes, with TTLs in wall-clock time so they hold across restarts.
///
/// Invariants:
/// - A call never waits on SQLite past the lookup budget: a lookup that has not answered by then is a miss for that
///   call (its read finishes in the background, and at most ``Configuration/maxPendingLookups`` such reads are
///   outstanding: past that a lookup is a miss at once). A failed read is a miss too. Nothing here fails a call.
/// - Every SQLite call runs on the tier's own threads (a reader and a writer connection, each on a `NIOThreadPool`
///   of one thread), never on Swift's cooperative pool: the file may be slow, locked or on a stalled disk.
/// - Writes (results, the last-use time of hits, invalidations, sweeps) are queued, at most
///   ``Configuration/maxPendingWrites`` of them (past that a result is dropped and counted as an error), and applied
///   by one drain at a time in batches, one transaction each.
/// - The file's `usage` row, kept by triggers, is the truth about its size: several processes sharing one file
///   keep it within `maxBytes` together. Past the bound the least recently used entries go first, down to 90% of it.
/// - A file that cannot be used (not a database, corrupt, of another schema, unwritable) is moved aside to
///   `<path>.bad-<time>` and a new one created, with an error in the log saying so; when no new one can be created
///   either, the tier turns `off` and the host goes on with L1 alone.
public final class SQLiteResultCache: Sendable {
    /// Where the file is and how the tier is bounded.
    public struct Configuration: Sendable {
        /// The SQLite file (its directory is created if missing).
        public var path: String
        /// The most bytes of entries held (results plus ``entryOverhead`` and their names each).
        public var maxBytes: Int
        /// How long a call waits for an L2 lookup before treating it as a miss.
        public var budget: Duration
        /// How long the first lookups wait for the file to open (a call made as the process starts, as
        /// `toolhost call` does); past it they are misses.
        public var openWait: Duration = .seconds(1)
        /// Reads still running past their budget, at most; past it a lookup is a miss at once.
        public var maxPendingLookups = 64
        /// Writes waiting for the writer, at most; past it a result is not stored (counted as an error).
        public var maxPendingWrites = 4096
        /// How often expired entries are deleted (checked as writes are applied, and at open).
        public var sweepInterval: Duration = .seconds(60)
        /// Milliseconds since the Unix epoch (tests inject their own).
        public var wallClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

        public init(path: String, maxBytes: Int, budget: Duration) {
            self.path = path
            self.maxBytes = maxBytes
            self.budget = budget
        }
    }

    /// A result read from the file.
    struct Stored: Sendable {
        let output: [UInt8]
        let duration: Duration
        /// What is left of its TTL.
        let remaining: Duration
    }

    /// Bytes charged per entry beyond its output and names (key, columns, index entries).
    static let entryOverhead = 96

    /// The schema's version, in `PRAGMA user_version`; a file with another one is moved aside.
    static let schemaVersion = 1

    public let configuration: Configuration
    let logger: Logger
    let readerPool = NIOThreadPool(numberOfThreads: 1)
    let writerPool = NIOThreadPool(numberOfThreads: 1)
    private let poolsStopped = Atomic<Bool>(false)
    private let budgetNanoseconds: UInt64
    let state = Mutex(Shared())

    struct Connections: Sendable {
        let reader: SQLiteConnection
        let writer: SQLiteConnection
    }

    enum Phase: Sendable {
        case opening
        case ready(Connections)
        case recovering
        case off(String)
        case closed

        var name: String {
            switch self {
            case .opening: "opening"
            case .ready: "ready"
            case .recovering: "recovering"
            case .off, .closed: "off"
            }
        }

        var isReady: Bool {
            if case .ready = self { return true }
            return false
        }
    }

    /// Which entries an invalidation removes.
    enum Filter: Sendable {
        case all
        case plugin(String)
        /// A full `<plugin>.<tool>` name.
        case tool(String)
        /// One generation of a plugin: its entries under this version and library.
        case generation(plugin: String, version: String, library: String)
    }

    enum Write: Sendable {
        case store(key: [UInt8], row: Row)
        case touch(key: [UInt8], usedMs: Int64)
        case invalidate(Filter, reply: OneShot<Int?>?)
    }

    struct Row: Sendable {
        let plugin: String
        let tool: String
        let version: String
        let library: String
        let output: [UInt8]
        let durationNanoseconds: Int64
        let expiresMs: Int64
        let usedMs: Int64
        let bytes: Int
    }

    private enum Read: Sendable {
        case hit(Stored)
        case miss
        case timedOut
        case failed(String)
    }

    struct Shared {
        var phase = Phase.opening
        var openWaiters: [OneShot<Void>] = []
        var writes: [Write] = []
        var draining = false
        var flushWaiters: [OneShot<Void>] = []
        var pendingLookups = 0
        var entries = 0
        var bytes = 0
        var hits = 0
        var misses = 0
        var timeouts = 0
        var errors = 0
        var lastSweepMs: Int64 = 0
    }

    /// Opens (or creates) the file in the background; lookups made meanwhile wait up to `openWait` for it.
    /// - Parameters:
    ///   - configuration: the file and its bounds.
    ///   - logger: where a file moved aside, or a tier turned off, is reported.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.budgetNanoseconds = UInt64(CallDeadline.nanoseconds(configuration.budget))
        readerPool.start()
        writerPool.start()
        Task { await self.establish(after: nil) }
    }

    deinit {
        stopPools()
    }

    /// The tier's figures (`GET /v1/cache`).
    public var status: CacheTierStatus {
        state.withLock { state in
            var problem: String?
            if case .off(let why) = state.phase { problem = why }
            if case .closed = state.phase { problem = "closed" }
            return CacheTierStatus(
                tier: "l2", state: state.phase.name, entries: state.entries, bytes: state.bytes,
                maxBytes: configuration.maxBytes, hits: state.hits, misses: state.misses, timeouts: state.timeouts,
                errors: state.errors, path: configuration.path, problem: problem)
        }
    }

    /// What an entry costs against `maxBytes`.
    static func cost(output: Int, plugin: String, tool: String, version: String, library: String) -> Int {
        output + plugin.utf8.count + tool.utf8.count + version.utf8.count + library.utf8.count + entryOverhead
    }

    // MARK: reading

    /// The stored result for `key`, if the file has one that has not expired and answers within the budget.
    func lookup(_ key: CacheKey) async -> Stored? {
        var connections: Connections?
        var mustWait = false
        state.withLock { state in
            switch state.phase {
            case .ready(let ready): connections = ready
            case .opening: mustWait = true
            case .recovering, .off, .closed: state.misses += 1
            }
        }
        if mustWait { connections = await waitForOpen(countingAMiss: true, bounded: true) }
        guard let connections else { return nil }
        let admitted = state.withLock { state -> Bool in
            guard state.pendingLookups < configuration.maxPendingLookups else {
                state.misses += 1
                state.timeouts += 1
                return false
            }
            state.pendingLookups += 1
            return true
        }
        guard admitted else { return nil }
        let reply = OneShot<Read>()
        let keyBytes = key.bytes
        let outcome = await reply.wait(
            until: CallDeadline.adding(Int64(max(budgetNanoseconds, 1)), to: monotonicNanoseconds()),
            register: {
                Task {
                    let read = await self.read(keyBytes, on: connections.reader)
                    self.state.withLock { $0.pendingLookups -= 1 }
                    reply.reply(read)
                }
            }, timedOut: { .timedOut }, cancelled: { .timedOut })
        var fatal: String?
        state.withLock { state in
            switch outcome {
            case .hit: state.hits += 1
            case .miss: state.misses += 1
            case .timedOut:
                state.misses += 1
                state.timeouts += 1
            case .failed(let message):
                state.misses += 1
                state.errors += 1
                fatal = message
            }
        }
        switch outcome {
        case .hit(let stored):
            _ = enqueue(.touch(key: keyBytes, usedMs: configuration.wallClock()))
            return stored
        case .failed:
            if let fatal { await failed(fatal, during: "a lookup", connections: connections) }
            return nil
        case .miss, .timedOut:
            return nil
        }
    }

    private func read(_ key: [UInt8], on reader: SQLiteConnection) async -> Read {
        let now = configuration.wallClock()
        do {
            let rows = try await reader.query(
                "SELECT output, duration_ns, expires_ms FROM results WHERE key = ?1 AND expires_ms > ?2",
                [.blob(ByteBuffer(bytes: key)), .integer(Int(now))])
            guard let row = rows.first, let output = row.column("output")?.blob,
                let duration = row.column("duration_ns")?.integer, let expires = row.column("expires_ms")?.integer
            else { return .miss }
            return .hit(
                Stored(
                    output: Array(output.readableBytesView), duration: .nanoseconds(Int64(duration)),
                    remaining: .milliseconds(Int64(expires) - now)))
        } catch {
            return .failed(String(describing: error))
        }
    }

    /// Waits for the file to open: up to `openWait` when `bounded` (a call's lookup), else until it is open or off.
    /// - Returns: the connections, or nil when it did not open (in time).
    private func waitForOpen(countingAMiss: Bool, bounded: Bool) async -> Connections? {
        let waiter = OneShot<Void>()
        let deadline =
            bounded
            ? CallDeadline.adding(max(CallDeadline.nanoseconds(configuration.openWait), 1), to: monotonicNanoseconds())
            : 0
        await waiter.wait(
            until: deadline,
            register: {
                let ready = state.withLock { state -> Bool in
                    guard case .opening = state.phase else { return true }
                    state.openWaiters.append(waiter)
                    return false
                }
                if ready { waiter.reply(()) }
            }, timedOut: {}, cancelled: {})
        return state.withLock { state in
            if case .ready(let connections) = state.phase { return connections }
            if countingAMiss { state.misses += 1 }
            return nil
        }
    }

    // MARK: writing

    /// Queues a result to be written (the caller does not wait for the write).
    func store(
        _ key: CacheKey, plugin: String, version: String, library: String, tool: String, output: [UInt8],
        duration: Duration, ttl: Duration
    ) {
        let bytes = Self.cost(output: output.count, plugin: plugin, tool: tool, version: version, library: library)
        guard bytes <= configuration.maxBytes, ttl > .zero else { return }
        let now = configuration.wallClock()
        let ttlMs = ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
        let durationNs = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        let row = Row(
            plugin: plugin, tool: tool, version: version, library: library, output: output,
            durationNanoseconds: durationNs, expiresMs: now + max(ttlMs, 1), usedMs: now, bytes: bytes)
        _ = enqueue(.store(key: key.bytes, row: row))
    }

    /// Removes entries and waits for the removal.
    /// - Returns: how many were removed, or nil when the file could not be written (or the tier is off).
    func invalidate(_ filter: Filter) async -> Int? {
        let reply = OneShot<Int?>()
        return await reply.wait {
            if !enqueue(.invalidate(filter, reply: reply)) { reply.reply(nil) }
        }
    }

    /// Removes entries, as ``ResultCache/invalidate(plugin:tool:)`` does in memory, and waits for the removal.
    /// - Parameters:
    ///   - plugin: only this plugin's entries; nil: every plugin's.
    ///   - tool: only this tool's entries (`<plugin>.<tool>`); nil: every tool's.
    /// - Returns: how many were removed, or nil when the file could not be written (or the tier is off).
    public func invalidate(plugin: String? = nil, tool: String? = nil) async -> Int? {
        if let tool {
            // A tool of another plugin than the one named removes nothing, as in L1.
            if let plugin, !tool.hasPrefix(plugin + ".") { return 0 }
            return await invalidate(.tool(tool))
        }
        return await invalidate(plugin.map { .plugin($0) } ?? .all)
    }

    /// Waits until the file is open, or the tier is off (`toolhost cache stats` reads the figures after it). Not
    /// bounded by `openWait`: opening ends either way, within SQLite's 1 s busy timeout of a locked file.
    public func waitUntilOpen() async {
        let opening = state.withLock { state -> Bool in
            if case .opening = state.phase { return true }
            return false
        }
        if opening { _ = await waitForOpen(countingAMiss: false, bounded: false) }
    }

    /// Removes entries without waiting (a plugin's replaced generation).
    func invalidateLater(_ filter: Filter) {
        _ = enqueue(.invalidate(filter, reply: nil))
    }

    /// Waits until every write queued so far is applied (or dropped, when the tier is off).
    public func flush() async {
        // Writes queued while the file opens are applied once it is open.
        await waitUntilOpen()
        let waiter = OneShot<Void>()
        await waiter.wait {
            let idle = state.withLock { state -> Bool in
                if !state.draining && (state.writes.isEmpty || !state.phase.isReady) { return true }
                state.flushWaiters.append(waiter)
                return false
            }
            if idle { waiter.reply(()) }
        }
    }

    /// Applies the queued writes, then closes the file and stops the tier's threads. Lookups are misses after it.
    public func close() async {
        await flush()
        let connections = state.withLock { state -> Connections? in
            defer { state.phase = .closed }
            if case .ready(let connections) = state.phase { return connections }
            return nil
        }
        if let connections {
            try? await connections.reader.close()
            try? await connections.writer.close()
        }
        stopPools()
    }

    private func stopPools() {
        guard !poolsStopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        readerPool.shutdownGracefully { _ in }
        writerPool.shutdownGracefully { _ in }
    }

    /// Queues a write and starts the drain if none runs.
    /// - Returns: false when the write was refused (too many pending, or the tier is off).
    private func enqueue(_ write: Write) -> Bool {
        let start = state.withLock { state -> Bool? in
            switch state.phase {
            case .off, .closed: return nil
            case .opening, .ready, .recovering: break
            }
            guard state.writes.count < configuration.maxPendingWrites else {
                state.errors += 1
                return nil
            }
            state.writes.append(write)
            guard state.phase.isReady, !state.draining else { return false }
            state.draining = true
            return true
        }
        guard let start else { return false }
        if start { Task { await self.drain() } }
        return true
    }

    func drain() async {
        while true {
            let next = state.withLock { state -> (Connections, [Write])? in
                guard case .ready(let connections) = state.phase, !state.writes.isEmpty else {
                    state.draining = false
                    return nil
                }
                defer { state.writes = [] }
                return (connections, state.writes)
            }
            guard let (connections, writes) = next else { break }
            await apply(writes, on: connections)
        }
        let waiters = state.withLock { state -> [OneShot<Void>] in
            defer { state.flushWaiters = [] }
            return state.flushWaiters
        }
        for waiter in waiters { waiter.reply(()) }
    }

    /// Applies a batch of writes in one transaction, then evicts past the bound and sweeps when due.
    private func apply(_ writes: [Write], on connections: Connections) async {
        let writer = connections.writer
        var removed: [(OneShot<Int?>, Int)] = []
        do {
            _ = try await writer.query("BEGIN IMMEDIATE")
            for write in writes {
                switch write {
                case .store(let key, let row):
                    _ = try await writer.query(
                        """
                        INSERT INTO results (key, plugin, tool, version, library, output, duration_ns, expires_ms,
                          used_ms, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                        ON CONFLICT (key) DO UPDATE SET output = excluded.output, duration_ns = excluded.duration_ns,
                          expires_ms = excluded.expires_ms, used_ms = excluded.used_ms, bytes = excluded.bytes
                        """,
                        [
                            .blob(ByteBuffer(bytes: key)), .text(row.plugin), .text(row.tool), .text(row.version),
                            .text(row.library), .blob(ByteBuffer(bytes: row.output)),
                            .integer(Int(row.durationNanoseconds)), .integer(Int(row.expiresMs)),
                            .integer(Int(row.usedMs)), .integer(row.bytes),
                        ])
                case .touch(let key, let usedMs):
                    _ = try await writer.query(
                        "UPDATE results SET used_ms = ?2 WHERE key = ?1 AND used_ms < ?2",
                        [.blob(ByteBuffer(bytes: key)), .integer(Int(usedMs))])
                case .invalidate(let filter, let reply):
                    let count = try await delete(filter, on: writer)
                    if let reply { removed.append((reply, count)) }
                }
            }
            try await evictPastTheBound(on: writer)
            let now = configuration.wallClock()
            let sweepDue = state.withLock { state -> Bool in
                let interval = configuration.sweepInterval.components.seconds * 1000
                return now - state.lastSweepMs >= interval
            }
            if sweepDue {
                _ = try await writer.query("DELETE FROM results WHERE expires_ms <= ?1", [.integer(Int(now))])
                state.withLock { $0.lastSweepMs = now }
            }
            let usage = try await Self.usage(of: writer)
            _ = try await writer.query("COMMIT")
            state.withLock { state in (state.entries, state.bytes) = usage }
            if sweepDue { _ = try? await writer.query("PRAGMA incremental_vacuum") }
        } catch {
            _ = try? await writer.query("ROLLBACK")
            state.withLock { $0.errors += 1 }
            for write in writes {
                if case .invalidate(_, let reply?) = write { reply.reply(nil) }
            }
            await failed(String(describing: error), during: "a write", connections: connections)
            return
        }
        for (reply, count) in removed { reply.reply(count) }
    }

    private func delete(_ filter: Filter, on writer: SQLiteConnection) async throws -> Int {
        switch filter {
        case .all:
            _ = try await writer.query("DELETE FROM results")
        case .plugin(let plugin):
            _ = try await writer.query("DELETE FROM results WHERE plugin = ?1", [.text(plugin)])
        case .tool(let tool):
            _ = try await writer.query("DELETE FROM results WHERE tool = ?1", [.text(tool)])
        case .generation(let plugin, let version, let library):
            _ = try await writer.query(
                "DELETE FROM results WHERE plugin = ?1 AND version = ?2 AND library = ?3",
                [.text(plugin), .text(version), .text(library)])
        }
        let rows = try await writer.query("SELECT changes() AS n")
        return rows.first?.column("n")?.integer ?? 0
    }

    /// Past `maxBytes`, deletes the least recently used entries until the file holds 90% of it.
    private func evictPastTheBound(on writer: SQLiteConnection) async throws {
        let (_, bytes) = try await Self.usage(of: writer)
        guard bytes > configuration.maxBytes else { return }
        let excess = bytes - (configuration.maxBytes - configuration.maxBytes / 10)
        _ = try await writer.query(
            """
            DELETE FROM results WHERE key IN (
              SELECT key FROM (
                SELECT key, bytes, SUM(bytes) OVER (ORDER BY used_ms, key ROWS UNBOUNDED PRECEDING) AS running
                FROM results)
              WHERE running - bytes < ?1)
            """, [.integer(excess)])
    }

    static func usage(of connection: SQLiteConnection) async throws -> (entries: Int, bytes: Int) {
        let rows = try await connection.query("SELECT entries, bytes FROM usage")
        return (rows.first?.column("entries")?.integer ?? 0, rows.first?.column("bytes")?.integer ?? 0)
    }
}
