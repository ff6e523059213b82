import Crypto
import Foundation
import Glibc

/// `toolhost keygen` and `toolhost sign`: Ed25519 keys, and `manifest.sig` in a plugin folder
/// (``PluginSignature`` says what is signed).
public enum PluginSigning {
    /// A key pair `keygen` wrote.
    public struct KeyPair: Sendable {
        /// The key's id, as `manifest.sig` and the loader's messages name it.
        public let keyID: String
        /// The private key file, `NAME.key` (mode 0600).
        public let privateKeyPath: String
        /// The public key file, `NAME.pub`, for operators' trust stores.
        public let publicKeyPath: String
    }

    /// A signature `sign` wrote.
    public struct Signed: Sendable {
        public let pluginName: String
        public let pluginVersion: String
        public let keyID: String
        /// `manifest.sig`.
        public let path: String
    }

    /// Makes a new Ed25519 key pair: `NAME.key` (base64 of the raw private key, created with mode 0600) and
    /// `NAME.pub` (base64 of the raw public key). Neither file may exist already.
    /// - Parameter name: the path of both files without their extensions.
    /// - Returns: the key id and both paths.
    /// - Throws: `SigningError` when a file exists or cannot be written.
    public static func generateKey(name: String) throws(SigningError) -> KeyPair {
        let privatePath = name + ".key"
        let publicPath = name + ".pub"
        for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw SigningError("\(path) exists already: choose another name, or remove it if it is not needed")
        }
        let key = Curve25519.Signing.PrivateKey()
        let publicKey = Array(key.publicKey.rawRepresentation)
        try create(privatePath, text: Data(key.rawRepresentation).base64EncodedString() + "\n", mode: 0o600)
        do {
            try create(publicPath, text: Data(publicKey).base64EncodedString() + "\n", mode: 0o644)
        } catch {
            unlink(privatePath)
            throw error
        }
        return KeyPair(
            keyID: PluginSignature.keyID(publicKey: publicKey), privateKeyPath: privatePath, publicKeyPath: publicPath)
    }

    /// Signs a plugin folder: writes `DIR/manifest.sig` over its `manifest.json` and its library as they are now.
    /// The manifest must be valid, and a library it pins with `library.sha256` must match it.
    /// - Parameters:
    ///   - directory: the plugin folder.
    ///   - keyFile: a private key written by ``generateKey(name:)``.
    /// - Returns: the plugin, the key id and where the signature went.
    /// - Throws: `SigningError` naming what is wrong and what to do.
    public static func sign(directory: String, keyFile: String) throws(SigningError) -> Signed {
        guard let keyData = FileManager.default.contents(atPath: keyFile),
            let keyText = String(data: keyData, encoding: .utf8),
            let raw = Data(base64Encoded: keyText.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else {
            throw SigningError(
                "\(keyFile) is not a private key written by `toolhost keygen` (or cannot be read); make one with "
                    + "`toolhost keygen --out NAME`")
        }
        let manifest: PluginManifest
        do {
            manifest = try PluginManifest.load(directory: directory)
        } catch {
            throw SigningError("\(error); fix the manifest (`toolhost check \(directory)`) before signing it")
        }
        var librarySHA256: String? = nil
        if !manifest.library.isSystem {
            let path = directory + "/" + manifest.library.file
            guard let library = FileManager.default.contents(atPath: path) else {
                throw SigningError("the library \(path) cannot be read: put it beside manifest.json before signing")
            }
            let sha256 = LibraryStore.sha256(Array(library))
            if let pinned = manifest.library.sha256, pinned != sha256 {
                throw SigningError(
                    "the library \(path) has sha256 \(sha256), but manifest.json pins \(pinned): copy the right "
                        + "library, or update library.sha256, then sign")
            }
            librarySHA256 = sha256
        }
        let message = PluginSignature.message(manifest: manifest.text, librarySHA256: librarySHA256)
        let signatureBytes: Data
        do {
            signatureBytes = try key.signature(for: message)
        } catch {
            throw SigningError("signing failed: \(error)")
        }
        let publicKey = Array(key.publicKey.rawRepresentation)
        let signature = PluginSignature(
            keyID: PluginSignature.keyID(publicKey: publicKey), publicKey: publicKey, signature: Array(signatureBytes))
        // Written beside and renamed into place, so a watcher never reads half a signature.
        let path = directory + "/" + PluginSignature.fileName
        let temporary = directory + "/.\(PluginSignature.fileName).\(getpid()).new"
        unlink(temporary)
        try create(temporary, text: String(decoding: signature.serialized, as: UTF8.self), mode: 0o644)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SigningError("cannot write \(path): \(reason)")
        }
        return Signed(
            pluginName: manifest.name, pluginVersion: manifest.version, keyID: signature.keyID, path: path)
    }

    /// Creates `path` (it must not exist) with `mode` and writes `text`.
    private static func create(_ path: String, text: String, mode: mode_t) throws(SigningError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SigningError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if let reason = writeAll(fd, Array(text.utf8)) {
            unlink(path)
            throw SigningError("cannot write \(path): \(reason)")
        }
    }
}

/// Why `toolhost keygen` or `toolhost sign` failed, and what to do.
public struct SigningError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
