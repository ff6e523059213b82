import CompressNIO
import NIOCore

/// An HTTP content coding toolhost speaks (RFC 9110 §8.4.1): `gzip` (also written `x-gzip`) and `deflate`, which
/// in HTTP is the zlib format (RFC 1950), not raw deflate. The zlib work is compress-nio's.
enum ContentCoding: String, Sendable, CaseIterable {
    case gzip
    case deflate

    /// The coding a `Content-Encoding` value names; nil for `identity` (no coding).
    /// - Throws: `ContentCodingError.unsupported` for anything else, a list of codings among them.
    static func named(_ header: String) throws(ContentCodingError) -> ContentCoding? {
        let name = header.trimmingASCIISpaces().lowercased()
        switch name {
        case "", "identity": return nil
        case "gzip", "x-gzip": return .gzip
        case "deflate": return .deflate
        default: throw .unsupported(header)
        }
    }

    private var algorithm: CompressionAlgorithm {
        switch self {
        case .gzip: .gzip()
        case .deflate: .zlib()
        }
    }

    private var zlibAlgorithm: ZlibAlgorithm {
        switch self {
        case .gzip: .gzip
        case .deflate: .zlib
        }
    }

    // MARK: negotiation

    /// What an `Accept-Encoding` request header (all its field lines) allows for an answer of `size` bytes.
    ///
    /// Each coding's quality is its own entry's `q` (RFC 9110 §12.5.3), else that of `*`, else 0; `identity` is
    /// acceptable unless an entry (its own, or `*` without one) gives it `q=0`, and without an entry of its own
    /// it ranks below every coding that is named. The best coding with `q > 0` is used when it ranks at least as
    /// high as identity and the answer is at least `threshold` bytes (`gzip` over `deflate` at equal rank); when
    /// identity is refused, an acceptable coding is used whatever the size. No header: no coding.
    /// - Parameters:
    ///   - acceptEncoding: the header's values.
    ///   - size: the answer's length in bytes.
    ///   - threshold: the smallest answer worth compressing.
    /// - Returns: the coding to use, or nil for the answer as it is.
    static func negotiate(acceptEncoding: [String], size: Int, threshold: Int) -> ContentCoding? {
        if acceptEncoding.isEmpty { return nil }
        var named: [String: Double] = [:]
        for value in acceptEncoding {
            for entry in value.split(separator: ",") {
                let parts = entry.split(separator: ";")
                guard let first = parts.first else { continue }
                let name = String(first).trimmingASCIISpaces().lowercased()
                if name.isEmpty { continue }
                var quality = 1.0
                for parameter in parts.dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1)
                    guard pair.count == 2, String(pair[0]).trimmingASCIISpaces().lowercased() == "q" else {
                        continue
                    }
                    // A malformed quality makes the entry unacceptable rather than preferred.
                    quality = Double(String(pair[1]).trimmingASCIISpaces()).map { min(max($0, 0), 1) } ?? 0
                }
                named[name == "x-gzip" ? "gzip" : name] = quality
            }
        }
        let any = named["*"]
        let identity = named["identity"] ?? any
        var best: (coding: ContentCoding, quality: Double)?
        for coding in ContentCoding.allCases {
            let quality = named[coding.rawValue] ?? any ?? 0
            if quality > 0, quality > (best?.quality ?? 0) { best = (coding, quality) }
        }
        guard let best else { return nil }
        if identity == 0 { return best.coding }
        if let identity, identity > best.quality { return nil }
        return size >= threshold ? best.coding : nil
    }

    // MARK: encoding and decoding

    /// The bytes encoded in this coding.
    /// - Throws: when zlib fails (out of memory).
    func encode(_ bytes: ByteBuffer) throws -> ByteBuffer {
        var input = bytes
        return try input.compress(with: algorithm)
    }

    /// Decodes a request body in this coding, stopping as soon as the output passes `limit` bytes, so a small body
    /// that would inflate to gigabytes (a zip bomb) costs at most `limit` bytes and the time to make them.
    /// - Parameters:
    ///   - encoded: the body as received.
    ///   - limit: the most bytes the decoded body may have.
    /// - Returns: the decoded body.
    /// - Throws: `ContentCodingError.tooLarge` past the limit, `.corrupt` for data that is not this coding,
    ///   is cut short, or goes on after the end of its stream.
    func decode(_ encoded: ByteBuffer, limit: Int) throws(ContentCodingError) -> ByteBuffer {
        guard encoded.readableBytes > 0 else {
            throw .corrupt(self, "the body is empty, but Content-Encoding says \(rawValue)")
        }
        var input = encoded
        let decompressor: ZlibDecompressor
        do {
            decompressor = try ZlibDecompressor(algorithm: zlibAlgorithm)
        } catch {
            throw .corrupt(self, "zlib could not start: \(error)")
        }
        let step = 64 * 1024
        var output = ByteBuffer()
        output.reserveCapacity(min(limit + 1, max(step, encoded.readableBytes * 4)))
        while true {
            if output.writableBytes == 0 {
                if output.readableBytes > limit { throw .tooLarge(limit: limit) }
                // At most one byte past the limit: enough to know it was passed.
                output.reserveCapacity(minimumWritableBytes: min(step, limit + 1 - output.readableBytes))
            }
            do {
                try decompressor.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                continue
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                throw .corrupt(self, "the body ends before its \(rawValue) stream does")
            } catch {
                throw .corrupt(self, "the body is not valid \(rawValue) data (\(error))")
            }
            if output.readableBytes > limit { throw .tooLarge(limit: limit) }
            if input.readableBytes > 0 {
                throw .corrupt(self, "\(input.readableBytes) bytes follow the end of the \(rawValue) stream")
            }
            // Every byte was read: either the stream ended, or it needs more. Asking again tells which.
            if output.writableBytes == 0 { output.reserveCapacity(minimumWritableBytes: 1) }
            do {
                try decompressor.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                throw .corrupt(self, "the body ends before its \(rawValue) stream does")
            } catch let error as CompressNIOError where error == .bufferOverflow {
                continue
            } catch {
                throw .corrupt(self, "the body is not valid \(rawValue) data (\(error))")
            }
            if output.readableBytes > limit { throw .tooLarge(limit: limit) }
            return output
        }
    }
}

/// Why a request body's coding cannot be used.
enum ContentCodingError: Error, Sendable {
    /// A `Content-Encoding` toolhost does not decode.
    case unsupported(String)
    /// The decoded body would pass the body limit.
    case tooLarge(limit: Int)
    /// The body is not valid data of its coding.
    case corrupt(ContentCoding, String)

    /// What to tell the client.
    var message: String {
        switch self {
        case .unsupported(let name):
            "Content-Encoding '\(name.prefix(40))' is not supported: send the body as gzip, deflate or identity"
        case .tooLarge(let limit):
            "the body is over \(limit) bytes once decompressed"
        case .corrupt(_, let detail):
            detail
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func trimmingASCIISpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
