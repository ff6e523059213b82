import Foundation

import Glibc

/// The baseline of issue 5: a bare round trip to a second process over a socketpair, the channel a worker
/// process uses, with the same waiting policy on both sides as a worker call one at a time (after sending, poll
/// without blocking, yielding the core in between, for `WorkerChannel.spinNanoseconds` = 60 µs, then sleep).
/// The peer is `Benchmarks/Fixtures/socket_echo.c`, built with `cc` on first use; it echoes length-prefixed
/// frames.
public final class SocketEchoPeer: @unchecked Sendable {
    /// How long each side polls for the other's frame before it sleeps (as `WorkerChannel.spinNanoseconds`).
    public static let spinNanoseconds: UInt64 = 60_000

    /// The echo peer's executable, built once per run.
    public static let executable: String = {
        let output = ProbeFixture.scratch + "/socket_echo"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "cc", "-std=c11", "-O2", ProbeFixture.root + "/Benchmarks/Fixtures/socket_echo.c", "-o", output,
        ]
        do {
            try process.run()
        } catch {
            fatalError("cannot run cc: \(error)")
        }
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "cc failed to build socket_echo.c")
        return output
    }()

    public let pid: pid_t
    private let fd: Int32
    private let spin: UInt64
    private var frame: [UInt8]

    /// Starts the peer.
    /// - Parameters:
    ///   - payloadBytes: the frame's payload (a worker call for `probe.echo {"a":1}` is 29 bytes, its answer 21).
    ///   - spin: how long each side polls before it sleeps; 0 sleeps at once.
    public init(payloadBytes: Int = 29, spin: UInt64 = spinNanoseconds) {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 3)  // dup2 clears close-on-exec on fd 3
        let arguments = [Self.executable, String(spin)].map { $0.withCString { strdup($0) } } + [nil]
        defer { for argument in arguments { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, Self.executable, &actions, nil, arguments, environ)
        precondition(result == 0, "cannot start \(Self.executable): \(result)")
        close(fds[1])
        self.pid = pid
        self.fd = fds[0]
        self.spin = spin
        frame = [UInt8](repeating: 7, count: 4 + payloadBytes)
        frame.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(payloadBytes).littleEndian, as: UInt32.self) }
    }

    deinit {
        close(fd)  // the peer exits at end of file
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Sends one frame and waits for it to come back, on the calling thread.
    public func roundTrip() {
        let length = frame.count
        frame.withUnsafeMutableBytes { buffer in
            var sent = 0
            while sent < length {
                let count = write(fd, buffer.baseAddress! + sent, length - sent)
                precondition(count > 0 || errno == EINTR, "the echo peer is gone")
                if count > 0 { sent += count }
            }
            if spin > 0 {
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let end = Self.now() + spin
                while poll(&descriptor, 1, 0) == 0 && Self.now() < end { sched_yield() }
            }
            var received = 0
            while received < length {
                let count = read(fd, buffer.baseAddress! + received, length - received)
                precondition(count > 0 || (count < 0 && errno == EINTR), "the echo peer is gone")
                if count > 0 { received += count }
            }
        }
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
