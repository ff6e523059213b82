import Glibc

/// What makes a plugin folder unsafe to load from: files anyone on the machine may change, and a library that is a
/// symbolic link out of its folder (whoever controls the target controls the plugin). `toolhost check` and the host
/// warn about each; with `strictFilePermissions` the host refuses the plugin.
enum PluginFolderSafety {
    /// Each finding, as a sentence with what to do about it; empty when the folder is safe.
    /// - Parameters:
    ///   - directory: the plugin folder.
    ///   - manifest: its manifest (for the library's file name).
    static func findings(directory: String, manifest: PluginManifest) -> [String] {
        var findings: [String] = []
        let parent = directory.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty, let mode = mode(of: parent), isWorldWritable(mode, directory: true) {
            findings.append(
                "the plugins directory \(parent) is writable by every user (mode \(octal(mode))): anyone can add a "
                    + "plugin; chmod o-w it (or set the sticky bit)")
        }
        if let mode = mode(of: directory), isWorldWritable(mode, directory: true) {
            findings.append(
                "the plugin folder \(directory) is writable by every user (mode \(octal(mode))): anyone can replace "
                    + "the plugin; chmod o-w it")
        }
        let manifestPath = directory + "/" + PluginManifest.fileName
        if let mode = mode(of: manifestPath), isWorldWritable(mode, directory: false) {
            findings.append(
                "\(manifestPath) is writable by every user (mode \(octal(mode))): chmod o-w it")
        }
        guard !manifest.library.isSystem else { return findings }
        let library = directory + "/" + manifest.library.file
        var link = stat()
        if lstat(library, &link) == 0, link.st_mode & S_IFMT == S_IFLNK {
            let target = realPath(library)
            let folder = realPath(directory)
            if let target, let folder, !target.hasPrefix(folder + "/") {
                findings.append(
                    "the library \(library) is a symbolic link to \(target), outside the plugin folder: whoever can "
                        + "change that file changes the plugin; copy the library into the folder")
            }
        }
        if let mode = mode(of: library), isWorldWritable(mode, directory: false) {
            findings.append("the library \(library) is writable by every user (mode \(octal(mode))): chmod o-w it")
        }
        return findings
    }

    /// The mode of what `path` names (following links); nil when it cannot be read.
    private static func mode(of path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode : nil
    }

    /// Writable by others; a directory with the sticky bit (like /tmp) lets others add files but not replace
    /// someone else's, so it counts only for files and non-sticky directories.
    private static func isWorldWritable(_ mode: mode_t, directory: Bool) -> Bool {
        guard mode & S_IWOTH != 0 else { return false }
        return !(directory && mode & S_ISVTX != 0)
    }

    private static func octal(_ mode: mode_t) -> String {
        "0" + String(mode & 0o7777, radix: 8)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
