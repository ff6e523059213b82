import CToolHostShims
import Foundation
import Glibc

/// One worker process running one plugin: started with the `toolhost worker` entry, spoken to over a
/// socketpair, killed and reaped when it misbehaves.
final class WorkerProcess: @unchecked Sendable {
    /// How to start workers (from the host's configuration and the plugin's manifest): the generation the host
    /// validated, which every worker of it runs whatever happens to the plugin folder afterwards.
    struct Launch: Sendable {
        var executable: String
        var pluginName: String
        /// The text of the manifest the host parsed, handed to each worker over its channel.
        var manifestText: [UInt8]
        /// The host's private copy of the library and its sha256 (nil for a system library, opened by soname).
        var library: LibraryStore.Copy?
        var allowedSystemLibraries: Set<String>
        var maxOutputBytes: Int
        var memoryLimitBytes: UInt64
        var cpuLimitSeconds: UInt64
        var startupTimeout: Duration
        /// Whether workers apply their sandbox (`WorkerSandbox`); the operator may turn it off.
        var sandbox = true
        /// Whether workers start in a new, empty network namespace (`limits.network: false`, or the operator).
        var cutNetwork = false
    }

    /// How a call in a worker ended, as the host sees it.
    enum CallResult {
        case result(status: Int32, output: [UInt8], message: String?)
        /// The deadline passed: the worker was killed.
        case timedOut
        /// The worker died or broke the protocol; the text names the signal or exit status.
        case crashed(String)
    }

    let pid: pid_t
    private let channel: WorkerChannel
    private let maxPayload: Int
    private var reaped = false

    /// The descriptors the host holds for this worker: its end of the channel and the pidfd (until reaped).
    var descriptors: [Int32] { reaped ? [] : [channel.fd, channel.peerExit].filter { $0 >= 0 } }

    private init(pid: pid_t, fd: Int32, maxPayload: Int) {
        self.pid = pid
        self.channel = WorkerChannel(fd: fd)
        self.channel.peerExit = toolhost_shim_pidfd_open(pid)
        self.maxPayload = maxPayload
    }

    /// Starts a worker and waits for it to load the plugin.
    /// - Returns: the worker, the tools it registered (name, thread-safe) and what it applied of its sandbox.
    static func start(
        _ launch: Launch
    ) throws(ToolError) -> (WorkerProcess, [(name: String, threadSafe: Bool)], WorkerSandbox.Report) {
        toolhost_shim_ignore_sigpipe()
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ToolError(.pluginUnavailable, "cannot create a channel for a worker: \(reason)")
        }
        var arguments = [launch.executable, "worker", "--plugin", launch.pluginName]
        if let library = launch.library { arguments += ["--library", library.path, "--sha256", library.sha256] }
        arguments += ["--max-output-bytes", String(launch.maxOutputBytes)]
        arguments += launch.allowedSystemLibraries.sorted().flatMap { ["--allow-system-library", $0] }
        if !launch.sandbox { arguments.append("--no-sandbox") }
        // A scrubbed environment: nothing of the host's leaks into plugin code.
        var environment = [
            "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TOOLHOST_WORKER=1",
            // A crash in plugin code is reported by the host as plugin_crashed; no Swift backtrace is wanted.
            "SWIFT_BACKTRACE=enable=no",
        ]
        // The spawn shim writes how the network cut-off went into this entry's value, for the worker to report.
        if launch.cutNetwork {
            environment.append(WorkerSandbox.networkVariable + "=" + String(repeating: " ", count: 24))
        }
        // Forked from a thread that never exits: PR_SET_PDEATHSIG fires when the forking *thread* ends.
        let channelEnd = fds[1]
        // errno is per thread: the spawner thread reads it where fork failed, and hands it back with the pid.
        let (pid, spawnErrno) = Spawner.shared.run {
            withCStrings(arguments) { argv in
                withCStrings(environment) { envp in
                    let pid = toolhost_shim_spawn_worker(
                        launch.executable, argv, envp, channelEnd, launch.memoryLimitBytes, launch.cpuLimitSeconds,
                        launch.cutNetwork ? 1 : 0)
                    return (pid, pid > 0 ? 0 : errno)
                }
            }
        }
        close(fds[1])
        guard pid > 0 else {
            close(fds[0])
            throw ToolError(
                .pluginUnavailable,
                "cannot start a worker (\(launch.executable)): \(String(cString: strerror(spawnErrno)))")
        }
        let worker = WorkerProcess(pid: pid, fd: fds[0], maxPayload: launch.maxOutputBytes + WorkerFrame.overhead)
        guard worker.channel.write(.load(manifest: launch.manifestText)) else {
            let status = worker.killAndReap()
            throw ToolError(
                .pluginUnavailable,
                "a worker died before it was handed the plugin's manifest (\(status)); it could not start "
                    + "\(launch.executable) worker")
        }
        let deadline = startupDeadline(launch.startupTimeout, from: monotonicNanoseconds())
        switch worker.channel.read(deadline: deadline, maxPayload: worker.maxPayload) {
        case .frame(.ready(let tools, let sandbox)):
            return (worker, tools, sandbox)
        case .frame(.failedToLoad(let message)):
            worker.kill()
            throw ToolError(.pluginUnavailable, message)
        case .timedOut:
            worker.kill()
            throw ToolError(.pluginUnavailable, "a worker did not load the plugin within \(launch.startupTimeout)")
        case .closed, .frame, .malformed:
            let status = worker.killAndReap()
            throw ToolError(
                .pluginUnavailable,
                "a worker died while loading the plugin (\(status)); its init crashed or it could not start "
                    + "\(launch.executable) worker")
        }
    }

    /// When a worker started at `now` (CLOCK_MONOTONIC ns) must have loaded its plugin: the whole timeout, fractions
    /// of a second included (saturating, never wrapping round to a deadline already passed).
    static func startupDeadline(_ timeout: Duration, from now: UInt64) -> UInt64 {
        CallDeadline.adding(CallDeadline.nanoseconds(timeout), to: now)
    }

    /// Runs one call; blocks until the result, the deadline (then the worker is killed) or its death.
    /// - Parameter spin: poll briefly for the answer before sleeping (worth it only when the cores are not
    ///   all busy, i.e. when calls come one at a time).
    /// - Parameter progress: where the handler's progress reports go (the worker forwards them only when given).
    func call(
        tool: String, arguments: [UInt8], deadline: UInt64, spin: Bool = false, progress: CallProgress? = nil
    ) -> CallResult {
        guard
            channel.write(
                .call(tool: tool, arguments: arguments, deadline: deadline, spin: spin, progress: progress != nil))
        else {
            return .crashed(killAndReap())
        }
        var next = channel.read(
            deadline: deadline, maxPayload: maxPayload, spin: spin ? WorkerChannel.spinNanoseconds : 0)
        // Progress frames come before the result; one that comes after the host answered the call is dropped
        // (`CallProgress` refuses it).
        while case .frame(.progress(let report)) = next, let progress {
            _ = progress.report(report)
            next = channel.read(deadline: deadline, maxPayload: maxPayload)
        }
        switch next {
        case .frame(.result(let status, let output, let message)):
            return .result(status: status, output: output, message: message)
        case .timedOut:
            _ = killAndReap()
            return .timedOut
        case .closed:
            let status = reapStatus()
            _ = Glibc.kill(-pid, SIGKILL)  // anything it forked goes with it
            return .crashed(status)
        case .frame, .malformed:
            _ = killAndReap()
            return .crashed("it broke the worker protocol")
        }
    }

    /// Kills the worker (SIGKILL) and reaps it.
    /// - Returns: how it ended, for messages.
    @discardableResult
    func killAndReap() -> String {
        kill()
        return reapStatus()
    }

    /// Kills the worker and its process group (children the plugin forked).
    func kill() {
        if !reaped {
            _ = Glibc.kill(-pid, SIGKILL)
            _ = Glibc.kill(pid, SIGKILL)
        }
    }

    /// Waits for the worker to end and describes how it did.
    private func reapStatus() -> String {
        guard !reaped else { return "already reaped" }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, 0) } while result < 0 && errno == EINTR
        reaped = true
        close(channel.fd)
        if channel.peerExit >= 0 { close(channel.peerExit) }
        if result < 0 { return "its status is unknown" }
        let signal = status & 0x7F
        if signal == 0 { return "exit status \((status >> 8) & 0xFF)" }
        let name = strsignal(signal).map { String(cString: $0) } ?? "signal"
        return "killed by signal \(signal) (\(name))"
    }

    deinit {
        if !reaped { killAndReap() }
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
private func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}

/// One thread, alive as long as the process, that forks every worker (see PR_SET_PDEATHSIG in the shim).
final class Spawner: @unchecked Sendable {
    static let shared = Spawner()
    private let lock = ConditionLock()
    private var pending: [() -> Void] = []

    private init() {
        HostThread.start(named: "toolhost-spawn", stackSize: 1 << 20) { self.loop() }
    }

    private func loop() {
        while true {
            lock.lock()
            while pending.isEmpty { lock.wait() }
            let work = pending.removeFirst()
            lock.unlock()
            work()
        }
    }

    /// Runs `body` on the spawner thread and waits for its result (a pid and the errno of a failed spawn).
    func run(_ body: @escaping () -> (pid_t, Int32)) -> (pid_t, Int32) {
        let done = ConditionLock()
        var result: (pid_t, Int32) = (-1, 0)
        var finished = false
        lock.withLock {
            pending.append {
                let value = body()
                done.withLock {
                    result = value
                    finished = true
                    done.signal()
                }
            }
            lock.signal()
        }
        done.lock()
        while !finished { done.wait() }
        done.unlock()
        return result
    }
}
