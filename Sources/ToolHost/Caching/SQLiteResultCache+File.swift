import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO

/// Opening the file, creating its schema, and what happens when it cannot be used.
extension SQLiteResultCache {
    /// A file written by another version of toolhost (its `user_version` is not ours).
    struct SchemaMismatch: Error, CustomStringConvertible {
        let found: Int
        var description: String {
            "the file has schema version \(found), this toolhost writes version \(SQLiteResultCache.schemaVersion)"
        }
    }

    /// Opens the file (creating it when missing). A file that cannot be used is moved aside and a new one created;
    /// when that fails too, the tier turns off.
    /// - Parameter problem: why the file in use is being replaced (a corrupt page found by a read), nil at start.
    func establish(after problem: String?) async {
        if let problem {
            guard await moveAside(because: problem) else { return }
        }
        do {
            become(try await openConnections())
            return
        } catch {
            let problem = String(describing: error)
            guard FileManager.default.fileExists(atPath: configuration.path) else {
                turnOff("the file cannot be created: \(problem)")
                return
            }
            // A file that is only locked (by a process that holds it too long) is left alone.
            guard error is SchemaMismatch || Self.isFileProblem(problem) else {
                turnOff("the file cannot be opened: \(problem)")
                return
            }
            guard await moveAside(because: problem) else { return }
        }
        do {
            become(try await openConnections())
        } catch {
            turnOff("a new file cannot be created either: \(error)")
        }
    }

    /// A read or write failed: when the file itself is the problem, replaces it; otherwise only logs.
    func failed(_ problem: String, during what: String, connections: Connections) async {
        guard Self.isFileProblem(problem) else {
            logger.warning(
                "the L2 cache failed \(what); the call goes on without it",
                metadata: ["cache.path": "\(configuration.path)", "error": "\(problem)"])
            return
        }
        let replacing = state.withLock { state -> Bool in
            guard case .ready(let current) = state.phase, current.writer === connections.writer else { return false }
            state.phase = .recovering
            return true
        }
        guard replacing else { return }
        try? await connections.reader.close()
        try? await connections.writer.close()
        await establish(after: problem)
    }

    /// Whether an error (as sqlite-nio describes it: the result code first) means the file itself cannot be used:
    /// not a database, corrupt, read-only or failing I/O, rather than busy or locked.
    static func isFileProblem(_ problem: String) -> Bool {
        ["corrupt", "notADatabase", "readOnly", "readonly", "ioError", "cantOpen"].contains { problem.hasPrefix($0) }
    }

    /// Renames the file (and its WAL and shared-memory files) to `<path>.bad-<unix ms>`, logging why.
    /// - Returns: whether it was moved; when not, the tier is off.
    private func moveAside(because problem: String) async -> Bool {
        let path = configuration.path
        let aside = "\(path).bad-\(configuration.wallClock())"
        let moved =
            (try? await writerPool.runIfActive { () -> Int32 in
                let status = rename(path, aside)
                if status != 0 { return errno }
                for suffix in ["-wal", "-shm"] { _ = rename(path + suffix, aside + suffix) }
                return 0
            }) ?? EIO
        state.withLock { $0.errors += 1 }
        guard moved == 0 else {
            turnOff(
                "the file cannot be used (\(problem)) and cannot be moved aside (\(String(cString: strerror(moved))))")
            return false
        }
        logger.error(
            "the L2 cache file cannot be used: moved it aside and starting with a new, empty one",
            metadata: ["cache.path": "\(path)", "cache.movedTo": "\(aside)", "error": "\(problem)"])
        return true
    }

    /// Opens a writer and a reader on the file, creating the schema in a new file.
    private func openConnections() async throws -> Connections {
        let path = configuration.path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try await writerPool.runIfActive {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        }
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        var quiet = logger
        quiet.logLevel = .warning
        let writer = try await SQLiteConnection.open(
            storage: .file(path: path), threadPool: writerPool, logger: quiet, on: loop)
        do {
            // A bounded wait for another process's write lock (sqlite-nio's own busy handler waits forever).
            _ = try await writer.query("PRAGMA busy_timeout = 1000")
            let version = try await writer.query("PRAGMA user_version").first?.column("user_version")?.integer ?? 0
            if version == 0 {
                _ = try await writer.query("PRAGMA auto_vacuum = INCREMENTAL")
                _ = try await writer.query("PRAGMA journal_mode = WAL")
                try await createSchema(on: writer)
            } else if version != Self.schemaVersion {
                throw SchemaMismatch(found: version)
            } else {
                _ = try await writer.query("PRAGMA journal_mode = WAL")
            }
            _ = try await writer.query("PRAGMA synchronous = NORMAL")
            let usage = try await Self.usage(of: writer)
            let reader = try await SQLiteConnection.open(
                storage: .file(path: path), threadPool: readerPool, logger: quiet, on: loop)
            do {
                _ = try await reader.query("PRAGMA busy_timeout = 1000")
                _ = try await reader.query("PRAGMA query_only = 1")
            } catch {
                try? await reader.close()
                throw error
            }
            state.withLock { state in (state.entries, state.bytes) = usage }
            return Connections(reader: reader, writer: writer)
        } catch {
            try? await writer.close()
            throw error
        }
    }

    private func createSchema(on writer: SQLiteConnection) async throws {
        let statements = [
            "BEGIN IMMEDIATE",
            """
            CREATE TABLE IF NOT EXISTS results (
              id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, plugin TEXT NOT NULL, tool TEXT NOT NULL,
              version TEXT NOT NULL, library TEXT NOT NULL, output BLOB NOT NULL, duration_ns INTEGER NOT NULL,
              expires_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL, bytes INTEGER NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS results_used ON results (used_ms)",
            "CREATE INDEX IF NOT EXISTS results_expires ON results (expires_ms)",
            "CREATE INDEX IF NOT EXISTS results_plugin ON results (plugin, tool)",
            "CREATE TABLE IF NOT EXISTS usage (entries INTEGER NOT NULL, bytes INTEGER NOT NULL)",
            "INSERT INTO usage (entries, bytes) SELECT 0, 0 WHERE NOT EXISTS (SELECT 1 FROM usage)",
            """
            CREATE TRIGGER IF NOT EXISTS results_inserted AFTER INSERT ON results
            BEGIN UPDATE usage SET entries = entries + 1, bytes = bytes + NEW.bytes; END
            """,
            """
            CREATE TRIGGER IF NOT EXISTS results_deleted AFTER DELETE ON results
            BEGIN UPDATE usage SET entries = entries - 1, bytes = bytes - OLD.bytes; END
            """,
            """
            CREATE TRIGGER IF NOT EXISTS results_resized AFTER UPDATE OF bytes ON results
            BEGIN UPDATE usage SET bytes = bytes - OLD.bytes + NEW.bytes; END
            """,
            "PRAGMA user_version = \(Self.schemaVersion)",
            "COMMIT",
        ]
        do {
            for statement in statements { _ = try await writer.query(statement) }
        } catch {
            _ = try? await writer.query("ROLLBACK")
            throw error
        }
    }

    /// The file is open: lookups waiting for it go on, and queued writes are applied.
    private func become(_ connections: Connections) {
        let (waiters, drain) = state.withLock { state -> ([OneShot<Void>], Bool) in
            state.phase = .ready(connections)
            defer { state.openWaiters = [] }
            let drain = !state.writes.isEmpty && !state.draining
            if drain { state.draining = true }
            return (state.openWaiters, drain)
        }
        for waiter in waiters { waiter.reply(()) }
        if drain { Task { await self.drain() } }
    }

    /// The tier cannot be used: L1 goes on alone. Queued writes are dropped, waiters answered.
    private func turnOff(_ why: String) {
        let (openWaiters, flushWaiters, writes) = state.withLock { state in
            state.phase = .off(why)
            state.errors += 1
            defer {
                state.openWaiters = []
                state.flushWaiters = []
                state.writes = []
            }
            return (state.openWaiters, state.flushWaiters, state.writes)
        }
        for waiter in openWaiters + flushWaiters { waiter.reply(()) }
        for write in writes {
            if case .invalidate(_, let reply?) = write { reply.reply(nil) }
        }
        logger.error(
            "the L2 cache is off: results are cached in memory only until the host restarts",
            metadata: ["cache.path": "\(configuration.path)", "error": "\(why)"])
    }
}
