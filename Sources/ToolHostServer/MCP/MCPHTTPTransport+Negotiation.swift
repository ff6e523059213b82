extension MCPHTTPTransport {
    /// How the answer to a `POST` holding requests is sent.
    enum ResponseForm {
        /// One JSON object (or an array for a batch).
        case json
        /// An SSE stream with one `message` event per response, ended after the last.
        case eventStream
    }

    /// Picks the form from the `Accept` header values: JSON when the client ranks it at least as high as SSE,
    /// SSE when only SSE is acceptable (or ranked higher), nil when neither is. No `Accept` at all means anything.
    static func responseForm(accept: [String]) -> ResponseForm? {
        if accept.isEmpty { return .json }
        let json = quality(of: "application/json", in: accept)
        let sse = quality(of: "text/event-stream", in: accept)
        if json > 0 && json >= sse { return .json }
        if sse > 0 { return .eventStream }
        return nil
    }

    /// The quality value (RFC 9110 §12.5.1) the `Accept` values give a media type (lowercase `type/subtype`): the
    /// most specific matching range wins (`type/subtype` over `type/*` over `*/*`); 0 when nothing matches.
    ///
    /// Works on the UTF-8 bytes without building strings: it runs on every `POST`.
    static func quality(of mediaType: String, in accept: [String]) -> Double {
        let wanted = Array(mediaType.utf8)
        let slash = wanted.firstIndex(of: UInt8(ascii: "/")) ?? wanted.count
        var best: (specificity: Int, quality: Double) = (-1, 0)
        for value in accept {
            var value = value
            value.withUTF8 { bytes in
                var index = 0
                while index < bytes.count {
                    // One media range: type/subtype, then ;parameters, up to a comma.
                    while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
                    let typeStart = index
                    while index < bytes.count, bytes[index] != 0x2C, bytes[index] != 0x3B, bytes[index] != 0x20 {
                        index += 1
                    }
                    let range = UnsafeBufferPointer(rebasing: bytes[typeStart..<index])
                    var quality = 1.0
                    while index < bytes.count, bytes[index] != 0x2C {
                        if bytes[index] == 0x3B {
                            index += 1
                            while index < bytes.count, bytes[index] == 0x20 { index += 1 }
                            if index + 1 < bytes.count, bytes[index] | 0x20 == 0x71, bytes[index + 1] == 0x3D {
                                let numberStart = index + 2
                                index = numberStart
                                while index < bytes.count, bytes[index] != 0x2C, bytes[index] != 0x3B,
                                    bytes[index] != 0x20
                                {
                                    index += 1
                                }
                                quality = Double(String(decoding: bytes[numberStart..<index], as: UTF8.self)) ?? 0
                                continue
                            }
                        }
                        index += 1
                    }
                    index += 1
                    let specificity = Self.specificity(of: range, wanted: wanted, slash: slash)
                    if specificity > best.specificity { best = (specificity, quality) }
                }
            }
        }
        return best.quality
    }

    /// 2 for `type/subtype` equal to `wanted` (ASCII case-insensitive), 1 for `type/*`, 0 for `*/*`, -1 otherwise.
    private static func specificity(of range: UnsafeBufferPointer<UInt8>, wanted: [UInt8], slash: Int) -> Int {
        guard let rangeSlash = range.firstIndex(of: UInt8(ascii: "/")) else { return -1 }
        let star = UInt8(ascii: "*")
        if rangeSlash == 1, range[0] == star, range.count == 3, range[2] == star { return 0 }
        guard rangeSlash == slash else { return -1 }
        for index in 0..<slash where range[index] | 0x20 != wanted[index] { return -1 }
        if range.count == slash + 2, range[slash + 1] == star { return 1 }
        guard range.count == wanted.count else { return -1 }
        for index in (slash + 1)..<wanted.count where range[index] | 0x20 != wanted[index] { return -1 }
        return 2
    }
}
