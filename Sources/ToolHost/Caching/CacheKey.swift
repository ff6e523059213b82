import Crypto

/// A SHA-256 over the plugin name and version, the library's content hash, the tool name and the canonical
/// arguments.
///
/// The canonical form sorts keys at every depth, drops insignificant whitespace and writes equal numbers
/// the same, so key order and formatting never split the cache; the plugin version and the library's sha256 in the
/// key mean a new version, a build replaced under the same version, or another folder claiming the plugin's name
/// never reads another generation's results.
struct CacheKey: Hashable, Sendable {
    let a: UInt64, b: UInt64, c: UInt64, d: UInt64

    /// - Parameter agent: for a tool whose results are kept per agent (`cache.scope` `agent`), the agent ("" for
    ///   calls that name none); nil for a shared result.
    init(
        plugin: String, version: String, library: String, tool: String, canonicalArguments: [UInt8],
        agent: String? = nil
    ) {
        var hasher = SHA256()
        // Length-prefixed fields: ("ab", "c") and ("a", "bc") never collide. An agent's scope is a fifth field, with
        // its length's top bit set so it cannot read as the start of the arguments.
        for field in [plugin, version, library, tool] {
            var length = UInt32(field.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Array(field.utf8))
        }
        if let agent {
            var length = (UInt32(agent.utf8.count) | 0x8000_0000).littleEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Array(agent.utf8))
        }
        canonicalArguments.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let digest = hasher.finalize()
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        digest.withUnsafeBytes { raw in
            words = (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            )
        }
        (a, b, c, d) = words
    }

    /// The 32 bytes of the digest (the L2 file's primary key).
    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for word in [a, b, c, d] { withUnsafeBytes(of: word) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    /// Lower-case hex, for logs and tests.
    var hex: String {
        [a, b, c, d].map { word in
            withUnsafeBytes(of: word) { bytes in
                bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            }
        }.joined()
    }
}
