import Crypto
import Foundation

/// The operator's trust store: a directory of Ed25519 public keys, one per `*.pub` file (base64 of the raw key, as
/// `toolhost keygen` writes it). A plugin is trusted when it is signed by one of them.
///
/// It is read at each load, never cached, so a key added to (or removed from) the directory counts from the next load.
struct TrustStore: Sendable {
    /// The directory (nil: none set, so no key is trusted).
    let directory: String?
    /// Raw public keys by key id (``PluginSignature/keyID(publicKey:)``).
    private(set) var keys: [String: [UInt8]] = [:]
    /// What could not be read: the directory, or a `.pub` file that is not a public key.
    private(set) var problems: [String] = []

    /// Reads the `*.pub` files of `directory`.
    init(directory: String?) {
        self.directory = directory
        guard let directory else { return }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            problems.append("\(directory) cannot be read (does it exist?)")
            return
        }
        for name in names.sorted() where name.hasSuffix(".pub") {
            let path = directory + "/" + name
            guard let key = Self.readPublicKey(path) else {
                problems.append("\(path) is not an Ed25519 public key written by `toolhost keygen`")
                continue
            }
            keys[PluginSignature.keyID(publicKey: key)] = key
        }
    }

    /// Reads a `.pub` file: base64 of a raw 32-byte Ed25519 public key.
    /// - Returns: the raw key, or nil when the file is not one.
    static func readPublicKey(_ path: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8),
            let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { return nil }
        return Array(raw)
    }
}
