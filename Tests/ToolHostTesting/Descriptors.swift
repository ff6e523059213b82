import Foundation

import Glibc

/// The test process's open file descriptors, read from /proc/self/fd, for the fault suite's leak checks.
///
/// Tests run in parallel in one process, so a count of all descriptors before and after a fault says nothing:
/// other tests open and close theirs meanwhile. The checks compare *identities* instead (what a descriptor
/// refers to, unique while it is open), so a test only ever asks about descriptors it knows are its own, or
/// about descriptors that can only be leaks whoever made them.
package enum Descriptors {
    /// What descriptor `fd` refers to, unique among open files: `socket:[748699]`, `pipe:[…]`, `pidfd:164578`
    /// (a pidfd's pidfs inode, one per process), or a path. Nil when `fd` is not open.
    package static func identity(of fd: Int32) -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else {
            return nil
        }
        guard target == "anon_inode:[pidfd]" || target.hasPrefix("pidfd:") else { return target }
        return info(of: fd)?["ino"].map { "pidfd:" + $0 } ?? target
    }

    /// Every open descriptor of this process and its identity.
    package static func all() -> [Int32: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        var result: [Int32: String] = [:]
        for name in names {
            guard let fd = Int32(name), let identity = identity(of: fd) else { continue }
            result[fd] = identity
        }
        return result
    }

    /// The fields of /proc/self/fdinfo/`fd` ("pos", "flags", "ino", "Pid", …).
    package static func info(of fd: Int32) -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/self/fdinfo/\(fd)") else { return nil }
        var fields: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// Descriptors that can only be leaks, whoever opened them: a pidfd of a process that has been reaped
    /// (fdinfo `Pid: -1`; nobody needs it any more), or a Unix stream socket whose other end is closed (a
    /// worker's channel after the worker died). Both also exist for an instant while their owner is closing
    /// them, so callers wait with `stillOpen(_:)`.
    package static func dead() -> Set<String> {
        var result: Set<String> = []
        for (fd, identity) in all() {
            if identity.hasPrefix("pidfd:") {
                if info(of: fd)?["Pid"] == "-1" { result.insert(identity) }
            } else if identity.hasPrefix("socket:"), isUnixStream(fd), peerClosed(fd) {
                result.insert(identity)
            }
        }
        return result
    }

    /// Waits until none of `identities` is open any more (or a few seconds pass, for a loaded machine).
    /// - Returns: those still open at the end; empty when all were closed.
    package static func stillOpen(_ identities: Set<String>) async -> Set<String> {
        var open = identities
        for _ in 0..<1_500 {
            open = identities.intersection(all().values)
            if open.isEmpty { break }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return open
    }

    private static func isUnixStream(_ fd: Int32) -> Bool {
        var domain: Int32 = 0
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 else { return false }
        length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else { return false }
        return domain == AF_UNIX && type == Int32(SOCK_STREAM.rawValue)
    }

    /// Whether the other end of a connected socket hung up (checked without waiting).
    private static func peerClosed(_ fd: Int32) -> Bool {
        let readHangUp: Int16 = 0x2000  // POLLRDHUP, which Glibc only exports with _GNU_SOURCE
        var descriptor = pollfd(fd: fd, events: readHangUp, revents: 0)
        guard poll(&descriptor, 1, 0) == 1 else { return false }
        return descriptor.revents & (readHangUp | Int16(POLLHUP)) != 0
    }
}
