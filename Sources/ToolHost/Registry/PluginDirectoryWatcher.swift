import Foundation
import Glibc
import Logging
import Synchronization

/// Hot add, replace and remove: watches the plugins directory with inotify and reloads the host when a plugin's
/// `manifest.json` is written, renamed into place or removed, or a plugin directory appears or goes; with
/// `libraries` (an author's `--dev`), also when a library (`*.so`, `*.so.N`) in a plugin folder is written or renamed
/// into place, so a rebuild is served without touching the manifest.
///
/// The manifest is the commit point: put the library in place first, then write or rename `manifest.json`.
/// Events are coalesced: the reload runs once the directory has been quiet for `settle` (and at the latest `settle`
/// × 8 after the first event of a burst). New and changed plugins are loaded before their tools are published
/// (``ToolHost/reload(loadNewPlugins:)``), so a broken new version never replaces a working one.
///
/// The watcher runs on a thread of its own; loading a plugin (its `init`) runs there too, never on the cooperative
/// pool.
public final class PluginDirectoryWatcher: Sendable {
    /// Why the directory cannot be watched.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    private let stopPipe: (read: Int32, write: Int32)
    private let stopped = Atomic<Bool>(false)
    /// Reloads done so far (for tests and diagnostics).
    private let reloads = Atomic<Int>(0)

    /// How many reloads the watcher has run.
    public var reloadCount: Int { reloads.load(ordering: .acquiring) }

    /// Starts watching `host`'s plugins directory.
    /// - Parameters:
    ///   - host: the host to reload.
    ///   - settle: how long the directory must be quiet before a burst of events is acted on.
    ///   - libraries: whether a library written in a plugin folder reloads too (not only its manifest).
    ///   - logger: where changes and watch problems are logged.
    /// - Throws: `StartError` when the directory cannot be watched (it does not exist, or the inotify limits are
    ///   exhausted: `fs.inotify.max_user_instances` / `max_user_watches`).
    public static func start(
        host: ToolHost, settle: Duration = .milliseconds(25), libraries: Bool = false,
        logger: Logger = Logger(label: "toolhost.watch")
    ) throws(StartError) -> PluginDirectoryWatcher {
        let directory = host.configuration.pluginsDirectory
        let inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard inotify >= 0 else {
            throw StartError(
                description: "cannot watch \(directory): inotify_init1 failed (\(String(cString: strerror(errno)))); "
                    + "raise fs.inotify.max_user_instances")
        }
        let top = inotify_add_watch(inotify, directory, Self.directoryMask)
        guard top >= 0 else {
            let reason = String(cString: strerror(errno))
            close(inotify)
            throw StartError(description: "cannot watch \(directory): \(reason)")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0
        else {
            close(inotify)
            throw StartError(description: "cannot watch \(directory): pipe2 failed")
        }
        let watcher = PluginDirectoryWatcher(stopPipe: (fds[0], fds[1]))
        let loop = Loop(
            host: host, directory: directory, inotify: inotify, top: top, stop: fds[0], settle: settle,
            libraries: libraries, logger: logger, reloads: watcher)
        loop.watchPluginDirectories()
        guard HostThread.start(named: "toolhost-watch", stackSize: 1 << 20, { loop.run() }) else {
            close(inotify)
            close(fds[0])
            close(fds[1])
            throw StartError(description: "cannot watch \(directory): no thread for the watcher")
        }
        if libraries {
            logger.info(
                "dev: a library written in a plugin folder reloads that plugin, not only its manifest",
                metadata: ["plugins.directory": "\(directory)"])
        } else {
            logger.debug("watching the plugins directory", metadata: ["plugins.directory": "\(directory)"])
        }
        return watcher
    }

    private init(stopPipe: (read: Int32, write: Int32)) {
        self.stopPipe = stopPipe
    }

    /// Stops watching (the thread ends after a reload it may be running). Safe to call more than once.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
        close(stopPipe.write)
    }

    deinit { stop() }

    fileprivate func countReload() { reloads.add(1, ordering: .releasing) }

    /// Plugin folders appearing, going or being renamed; the directory itself going.
    fileprivate static let directoryMask = UInt32(
        IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
    /// Inside a plugin folder: a file finished writing, renamed in or out, removed.
    fileprivate static let pluginMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR)

    /// The watcher thread's state (touched by that thread only).
    private final class Loop: @unchecked Sendable {
        let host: ToolHost
        let directory: String
        let inotify: Int32
        let top: Int32
        let stop: Int32
        let settle: Duration
        let libraries: Bool
        let logger: Logger
        weak var reloads: PluginDirectoryWatcher?
        /// Watch descriptor → plugin folder name.
        var folders: [Int32: String] = [:]

        init(
            host: ToolHost, directory: String, inotify: Int32, top: Int32, stop: Int32, settle: Duration,
            libraries: Bool, logger: Logger, reloads: PluginDirectoryWatcher
        ) {
            self.host = host
            self.directory = directory
            self.inotify = inotify
            self.top = top
            self.stop = stop
            self.settle = settle
            self.libraries = libraries
            self.logger = logger
            self.reloads = reloads
        }

        /// Adds a watch on every plugin folder (an existing watch is kept: inotify returns the same descriptor).
        func watchPluginDirectories() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names where !name.hasPrefix(".") {
                let watch = inotify_add_watch(inotify, directory + "/" + name, PluginDirectoryWatcher.pluginMask)
                if watch >= 0 {
                    folders[watch] = name
                } else if errno != ENOTDIR && errno != ENOENT {
                    logger.warning(
                        "cannot watch a plugin folder; changes to it need a restart",
                        metadata: [
                            "plugin.directory": "\(directory)/\(name)", "error": "\(String(cString: strerror(errno)))",
                        ])
                }
            }
        }

        func run() {
            defer {
                close(inotify)
                close(stop)
            }
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            let clock = ContinuousClock()
            var firstEvent: ContinuousClock.Instant?
            var lastEvent = clock.now
            while true {
                var timeout: Int32 = -1
                if let firstEvent {
                    let now = clock.now
                    let due = min(lastEvent + settle, firstEvent + settle * 8)
                    timeout = due <= now ? 0 : Int32(((due - now) / .milliseconds(1)).rounded(.up))
                }
                var fds = [
                    pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: stop, events: Int16(POLLIN), revents: 0),
                ]
                let ready = poll(&fds, 2, timeout)
                if ready < 0 && errno != EINTR { return }
                if fds[1].revents != 0 { return }
                if fds[0].revents != 0 {
                    let count = read(inotify, &buffer, buffer.count)
                    if count > 0, relevant(buffer, count: count) {
                        lastEvent = clock.now
                        if firstEvent == nil { firstEvent = lastEvent }
                    }
                    continue
                }
                if firstEvent != nil, ready == 0 {
                    firstEvent = nil
                    watchPluginDirectories()
                    host.reload(loadNewPlugins: true)
                    reloads?.countReload()
                }
            }
        }

        /// Whether a read of events holds one that may change what is served.
        func relevant(_ buffer: [UInt8], count: Int) -> Bool {
            var found = false
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + 16 <= count {
                    let watch = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    var name = ""
                    if length > 0 {
                        let bytes = raw[(offset + 16)..<min(offset + 16 + length, count)]
                        name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    offset += 16 + length
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        found = true
                    } else if mask & UInt32(IN_IGNORED) != 0 {
                        folders[watch] = nil
                    } else if watch == top {
                        // A plugin folder appeared, went or was renamed (or the directory itself went).
                        if mask & UInt32(IN_ISDIR) != 0 || mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
                            found = true
                        }
                    } else if name == PluginManifest.fileName {
                        found = true
                    } else if libraries, name.hasSuffix(".so") || name.contains(".so."),
                        mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0
                    {
                        // A rebuilt library: the rescan sees its new identity and loads it as a new generation.
                        found = true
                    }
                }
            }
            return found
        }
    }
}
