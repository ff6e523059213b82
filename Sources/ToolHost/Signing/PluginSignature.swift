import Crypto
import Foundation
import ToolHostJSON

/// A plugin's signature: `manifest.sig` beside `manifest.json`, an Ed25519 signature made by `toolhost sign`.
///
/// What is signed is a short text that names exactly one manifest and one library file:
///
///     toolhost-plugin-signature-v1
///     manifest <hex sha256 of manifest.json's bytes>
///     library <hex sha256 of the library file>
///
/// (each line ending in a newline; a manifest that names a system library has no `library` line: the manifest
/// names the soname). The manifest is the commit point and the library is hashed whole, so a change to either
/// after signing breaks the signature, whether or not the manifest pins `library.sha256`.
///
/// `manifest.sig` is a JSON object: `keyId` (``keyID(publicKey:)``), `publicKey` and `signature` (base64). The key
/// it carries only says who claims to have signed; trust comes from the operator's ``TrustStore``.
struct PluginSignature: Sendable, Hashable {
    /// The file beside `manifest.json`.
    static let fileName = "manifest.sig"
    /// The first line of what is signed: a signature of anything else never verifies as a plugin's.
    static let domain = "toolhost-plugin-signature-v1\n"

    let keyID: String
    /// The raw Ed25519 public key (32 bytes).
    let publicKey: [UInt8]
    /// The raw Ed25519 signature (64 bytes).
    let signature: [UInt8]

    /// The bytes a plugin's signature is over.
    /// - Parameters:
    ///   - manifest: `manifest.json`'s bytes.
    ///   - librarySHA256: the library's hex sha256; nil for a system library.
    static func message(manifest: [UInt8], librarySHA256: String?) -> [UInt8] {
        var text = domain + "manifest " + LibraryStore.sha256(manifest) + "\n"
        if let librarySHA256 { text += "library " + librarySHA256 + "\n" }
        return Array(text.utf8)
    }

    /// A key's id: the first 16 hex digits of the sha256 of its raw public key.
    static func keyID(publicKey: [UInt8]) -> String {
        String(LibraryStore.sha256(publicKey).prefix(16))
    }

    /// `manifest.sig`'s text.
    var serialized: [UInt8] {
        let object: JSONValue = [
            "keyId": .string(keyID), "publicKey": .string(Data(publicKey).base64EncodedString()),
            "signature": .string(Data(signature).base64EncodedString()),
        ]
        return object.serialized() + [0x0A]
    }

    /// Parses `manifest.sig`.
    /// - Returns: the signature, or what is wrong with the file.
    static func parse(_ bytes: [UInt8]) -> Result<PluginSignature, SignatureFileError> {
        guard let object = try? JSONValue.parse(bytes), object.objectValue != nil else {
            return .failure(SignatureFileError("it is not a JSON object"))
        }
        guard let keyID = object["keyId"]?.stringValue,
            let publicKey = object["publicKey"]?.stringValue.flatMap({ Data(base64Encoded: $0) }),
            let signature = object["signature"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
        else {
            return .failure(SignatureFileError("it needs \"keyId\", and \"publicKey\" and \"signature\" in base64"))
        }
        guard publicKey.count == 32, signature.count == 64 else {
            return .failure(SignatureFileError("its public key or signature is not an Ed25519 one"))
        }
        guard keyID == Self.keyID(publicKey: Array(publicKey)) else {
            return .failure(SignatureFileError("its keyId \(keyID) is not the id of its public key"))
        }
        return .success(PluginSignature(keyID: keyID, publicKey: Array(publicKey), signature: Array(signature)))
    }

    /// What `manifest.sig` in a plugin folder says about the plugin.
    enum Verdict: Sendable, Equatable {
        /// Signed by this trusted key, over this manifest and library.
        case verified(keyID: String)
        /// No `manifest.sig`.
        case unsigned
        /// A `manifest.sig` that cannot be read or parsed.
        case unusable(String)
        /// A signature that does not verify over this manifest and library.
        case tampered(keyID: String)
        /// A good signature by a key the trust store does not hold.
        case untrusted(keyID: String)
    }

    /// Checks the signature in a plugin folder against the manifest and library the loader is about to use.
    /// - Parameters:
    ///   - directory: the plugin folder, where `manifest.sig` is.
    ///   - manifest: the bytes of the manifest that was parsed (not read again).
    ///   - librarySHA256: the sha256 of the library bytes that will be opened; nil for a system library.
    ///   - trust: the operator's trust store.
    static func verify(
        directory: String, manifest: [UInt8], librarySHA256: String?, trust: TrustStore
    ) -> Verdict {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            return FileManager.default.fileExists(atPath: path) ? .unusable("it cannot be read") : .unsigned
        }
        let signature: PluginSignature
        switch parse(Array(data)) {
        case .success(let parsed): signature = parsed
        case .failure(let error): return .unusable(error.description)
        }
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: signature.publicKey),
            key.isValidSignature(
                signature.signature, for: message(manifest: manifest, librarySHA256: librarySHA256))
        else { return .tampered(keyID: signature.keyID) }
        guard trust.keys[signature.keyID] == signature.publicKey else { return .untrusted(keyID: signature.keyID) }
        return .verified(keyID: signature.keyID)
    }

    /// Why a plugin with this verdict is not trusted, and what to do, to follow "plugin 'name' " (nil: verified).
    static func reason(_ verdict: Verdict, directory: String, trust: TrustStore) -> String? {
        let store = trust.directory.map { "the trust store \($0)" } ?? "the trust store"
        let sign = "sign it with `toolhost sign \(directory) --key KEY.key` using a key whose .pub is in \(store)"
        switch verdict {
        case .verified:
            return nil
        case .unsigned:
            return "is not signed (no \(fileName) in \(directory)): \(sign)"
        case .unusable(let problem):
            return "has a \(directory)/\(fileName) that cannot be used (\(problem)): \(sign)"
        case .tampered(let keyID):
            return "has a signature by key \(keyID) that does not match its manifest.json and library: one of them "
                + "was changed after it was signed, or \(fileName) belongs to another version; copy the plugin again "
                + "as its signer shipped it (\(fileName) with its manifest and library), or \(sign)"
        case .untrusted(let keyID):
            var text =
                if let directory = trust.directory {
                    "is signed by key \(keyID), which is not in the trust store \(directory): if you trust its "
                        + "signer, add their public key (key id \(keyID), the .pub `toolhost keygen` wrote) to "
                        + directory
                } else {
                    "is signed by key \(keyID), but no trust store is set: set trustedKeysDirectory "
                        + "(TOOLHOST_TRUSTED_KEYS, --trusted-keys) to a directory holding the public key of key "
                        + "\(keyID) (the .pub `toolhost keygen` wrote)"
                }
            if !trust.problems.isEmpty {
                text += " (the trust store has problems: \(trust.problems.joined(separator: "; ")))"
            }
            return text
        }
    }
}

/// What is wrong with a `manifest.sig` file.
struct SignatureFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
