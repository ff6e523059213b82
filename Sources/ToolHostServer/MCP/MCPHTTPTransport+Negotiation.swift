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

    /// The quality value (RFC 9110 §12.5.1) the `Accept` values give a media type: the most specific matching
    /// range wins (`type/subtype` over `type/*` over `*/*`); 0 when nothing matches.
    static func quality(of mediaType: String, in accept: [String]) -> Double {
        let wanted = mediaType.split(separator: "/")
        var best: (specificity: Int, quality: Double) = (-1, 0)
        for value in accept {
            for range in value.split(separator: ",") {
                let parts = range.split(separator: ";")
                guard let typePart = parts.first else { continue }
                let type = typePart.trimmingSpaces.lowercased().split(separator: "/")
                guard type.count == 2 else { continue }
                let specificity: Int
                if type[0] == wanted[0] && type[1] == wanted[1] {
                    specificity = 2
                } else if type[0] == wanted[0] && type[1] == "*" {
                    specificity = 1
                } else if type[0] == "*" && type[1] == "*" {
                    specificity = 0
                } else {
                    continue
                }
                var quality = 1.0
                for parameter in parts.dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1)
                    if pair.count == 2, pair[0].trimmingSpaces.lowercased() == "q" {
                        quality = Double(pair[1].trimmingSpaces) ?? 0
                    }
                }
                if specificity > best.specificity { best = (specificity, quality) }
            }
        }
        return best.quality
    }

    /// Whether an `Origin` names a loopback host: `localhost` (or a `*.localhost` name), `127.0.0.0/8`, `[::1]`.
    /// `null` (an opaque origin) is not.
    static func isLoopbackOrigin(_ origin: String) -> Bool {
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let authority = origin[schemeEnd.upperBound...].prefix { $0 != "/" }
        let host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[...close]
        } else {
            host = authority.prefix { $0 != ":" }
        }
        let name = host.lowercased()
        if name == "localhost" || name.hasSuffix(".localhost") || name == "[::1]" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
