import Crypto
import Foundation

import Glibc

/// Private, content-addressed copies of plugin libraries.
///
/// The loader never opens a file in the plugins directory itself: it copies it to
/// `<store>/<sha256>/<file>` and opens the copy, so a library replaced later can never change code that
/// is mapped, and a new version can be loaded beside the old one.
///
/// dlopen of a path this process has opened gives back the image already mapped, whose `init` already ran. So an
/// in-process load of bytes whose copy this process has opened before (a manifest-only change, a plugin removed
/// and added again) gets a copy of its own, `<store>/<sha256>.<n>/<file>`: each image is initialised once.
///
/// A copy is a generation's library: the workers of a plugin in `process` isolation open the copy the host made
/// (and check its sha256), never the plugin folder's file. The host never removes a copy, so one stays in place
/// for as long as any worker of its generation may start (after a crash, a timeout, or when every warm worker is
/// busy); only the operator may clean the store, while no host uses it.
struct LibraryStore: Sendable {
    let directory: String

    /// A private copy of a library and the sha256 the host computed for it when it made the copy.
    struct Copy: Sendable, Hashable {
        let path: String
        let sha256: String
    }

    /// The default store: `$TOOLHOST_STATE_DIR/libs`, else `$XDG_RUNTIME_DIR/toolhost/libs`, else
    /// `/tmp/toolhost-<uid>/libs`.
    static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["TOOLHOST_STATE_DIR"], !state.isEmpty { return state + "/libs" }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return runtime + "/toolhost/libs" }
        return "/tmp/toolhost-\(getuid())/libs"
    }

    /// Hex SHA-256 of bytes.
    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The folder of one copy of the library whose hash is `sha256`: `<sha256>` for the first, `<sha256>.<n>` for
    /// another copy of the same bytes (a distinct file, so that dlopen maps a distinct image).
    private func folder(sha256: String, instance: Int) -> String {
        directory + "/" + sha256 + (instance == 0 ? "" : ".\(instance)")
    }

    /// Where `store` puts copy number `instance` of the library whose hash is `sha256`.
    func path(sha256: String, fileName: String, instance: Int = 0) -> String {
        folder(sha256: sha256, instance: instance) + "/" + fileName
    }

    /// Stores `bytes` (whose hash is `sha256`) under `fileName` and returns the copy's path.
    /// - Parameter instance: which copy of these bytes (0, the content-addressed one, unless a distinct file is
    ///   needed).
    /// - Throws: a message saying what failed and where.
    func store(_ bytes: [UInt8], sha256: String, fileName: String, instance: Int = 0) throws(StoreError) -> String {
        try makePrivateDirectory(directory)
        let folder = folder(sha256: sha256, instance: instance)
        try makePrivateDirectory(folder)
        let path = folder + "/" + fileName
        if let existing = FileManager.default.contents(atPath: path), existing.count == bytes.count,
            LibraryStore.sha256(Array(existing)) == sha256
        {
            return path
        }
        let temporary = folder + "/.\(fileName).\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o500)
        guard fd >= 0 else { throw StoreError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        if let reason = writeAll(fd, bytes) {
            close(fd)
            unlink(temporary)
            throw StoreError("cannot write \(temporary): \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw StoreError("cannot move the copy to \(path): \(reason)")
        }
        return path
    }

    /// Creates a directory only this user can write (its parents as needed), or checks that an existing
    /// one is so.
    private func makePrivateDirectory(_ path: String) throws(StoreError) {
        if mkdir(path, 0o700) != 0 {
            if errno == ENOENT {
                let parent = (path as NSString).deletingLastPathComponent
                try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                if mkdir(path, 0o700) != 0 && errno != EEXIST {
                    throw StoreError("cannot create \(path): \(String(cString: strerror(errno)))")
                }
            } else if errno != EEXIST {
                throw StoreError("cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
        try checkPrivate(path)
    }

    private func checkPrivate(_ path: String) throws(StoreError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw StoreError("cannot stat \(path)") }
        guard info.st_uid == getuid(), info.st_mode & 0o022 == 0 else {
            throw StoreError(
                "\(path) is writable by another user or not owned by this one; set TOOLHOST_STATE_DIR to a "
                    + "private directory")
        }
    }

    struct StoreError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
