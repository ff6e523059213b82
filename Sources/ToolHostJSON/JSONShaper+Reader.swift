private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

extension JSONShaper {
    /// Reads the parts of a JSON text that shaping looks at, straight from its bytes, without building a tree.
    ///
    /// The shaper only ever writes an array's first and last items, an object's first members, and a prefix of each
    /// string, within a budget; parsing a 2 MB result into a ``JSONValue`` to read a few kilobytes of it was 98 % of
    /// the cost. A container is read when the shaper first writes it: one pass over its bytes, by structure alone
    /// (brackets, strings, commas), counts its children and keeps the offsets of those any rung of the ladder can
    /// write (``JSONShaper/maxKept``); the pass is remembered, so later rungs read nothing again. Scalars and strings
    /// are read where they are written, strictly, by ``JSONParser``.
    ///
    /// The bytes must be one valid JSON value (a tool's result is checked to be); then what the shaper writes is valid
    /// JSON. Bytes in the middle of a long array are only skipped, by structure, so an error there goes unnoticed;
    /// malformed structure where the reader looks throws. On bytes that are not JSON the reader never reads out of
    /// them (the fuzzer checks it), but what it answers need not be JSON.
    ///
    /// Cost: about one pass over the bytes. A container's first children that are containers are read in its own
    /// pass; one reached later (among the last items of an array longer than `maxKept / 2`) is passed over again when
    /// it is written, so a result nested through such last items costs a pass per level, at most `maxDepth + 1`.
    final class Reader {
        /// What a pass over one array or object found.
        struct Container {
            var isObject: Bool
            /// Items or members.
            var count = 0
            /// Past its closing bracket.
            var end = 0
            /// Offsets of the first items (an array), or of the first members' keys (an object).
            var head: [Int] = []
            /// An object's: offsets of the values of the members in `head`.
            var values: [Int] = []
            /// An array's: offsets of its last items, in order, after those in `head`.
            var tail: [Int] = []

            /// The offset of item `index` of an array; the shaper asks only for the first or last `maxKept / 2`.
            func item(_ index: Int) -> Int {
                index < head.count ? head[index] : tail[index - (count - tail.count)]
            }
        }

        let bytes: UnsafePointer<UInt8>
        let count: Int
        private var parser: JSONParser
        private var containers: [Int: Container] = [:]

        init(_ buffer: UnsafeRawBufferPointer) {
            parser = JSONParser(buffer, options: JSONParseOptions())
            bytes = parser.bytes
            count = parser.count
        }

        // MARK: values where they are written

        /// The offset of the value the text holds (after leading whitespace).
        func root() -> Int { skipWhitespace(from: 0) }

        /// The byte the value at `offset` starts with (`[`, `{`, `"` or a scalar's first).
        func kind(at offset: Int) throws(JSONParseError) -> UInt8 {
            guard offset < count else { throw parser.error(.unexpectedEndOfInput, "expected a JSON value", at: offset) }
            return bytes[offset]
        }

        /// The scalar or string at `offset`, parsed strictly.
        func scalar(at offset: Int) throws(JSONParseError) -> JSONValue {
            try parser.value(at: offset)
        }

        /// The string at `offset` as its bytes appear in the text, when they hold no escape (so the string's UTF-8 is
        /// exactly those bytes); nil when it has one.
        func unescapedString(at offset: Int) throws(JSONParseError) -> UnsafeBufferPointer<UInt8>? {
            let (end, escaped) = try span(ofStringAt: offset)
            return escaped ? nil : UnsafeBufferPointer(start: bytes + offset + 1, count: end - offset - 2)
        }

        /// The array or object at `offset`, `depth` levels down: read once, then remembered.
        func container(at offset: Int, depth: Int) throws(JSONParseError) -> Container {
            if let known = containers[offset] { return known }
            return try read(containerAt: offset, depth: depth)
        }

        // MARK: passes by structure

        /// One pass over a container's bytes. Its first children that are containers themselves are read in the same
        /// pass (down to the deepest level the shaper writes), so the bytes of a value nested in wrappers
        /// (`{"data": {"items": [...]}}`) are passed over once, not once per level.
        private func read(containerAt start: Int, depth: Int) throws(JSONParseError) -> Container {
            let isObject = bytes[start] == UInt8(ascii: "{")
            let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let headMax = isObject ? JSONShaper.maxKept : (JSONShaper.maxKept + 1) / 2
            let tailMax = isObject ? 0 : JSONShaper.maxKept / 2
            var container = Container(isObject: isObject)
            // The last items seen past the head, as a ring; put in order at the end.
            var ring: [Int] = []
            var ringNext = 0
            var at = skipWhitespace(from: start + 1)
            if at < count, bytes[at] == close {
                container.end = at + 1
                containers[start] = container
                return container
            }
            while true {
                if isObject {
                    guard at < count, bytes[at] == quote else { throw unexpected("expected an object key", at: at) }
                    let key = at
                    at = skipWhitespace(from: try end(ofStringAt: at))
                    guard at < count, bytes[at] == UInt8(ascii: ":") else {
                        throw unexpected("expected ':' after object key", at: at)
                    }
                    at = skipWhitespace(from: at + 1)
                    if container.count < headMax {
                        container.head.append(key)
                        container.values.append(at)
                    }
                } else if container.count < headMax {
                    container.head.append(at)
                } else if tailMax > 0 {
                    if ring.count < tailMax {
                        ring.append(at)
                    } else {
                        ring[ringNext] = at
                        ringNext = ringNext + 1 == tailMax ? 0 : ringNext + 1
                    }
                }
                // A value must follow (`[1,` or `{"a":` at the end is not JSON).
                guard at < count else { throw unexpected("expected a JSON value", at: at) }
                let inHead = container.count < headMax
                container.count += 1
                if inHead, depth < JSONShaper.maxDepth, bytes[at] == UInt8(ascii: "[") || bytes[at] == UInt8(ascii: "{")
                {
                    at = skipWhitespace(from: try read(containerAt: at, depth: depth + 1).end)
                } else {
                    at = skipWhitespace(from: try end(ofValueAt: at))
                }
                guard at < count else { throw unexpected("expected ',' or '\(Unicode.Scalar(close))'", at: at) }
                if bytes[at] == UInt8(ascii: ",") {
                    at = skipWhitespace(from: at + 1)
                    continue
                }
                guard bytes[at] == close else { throw unexpected("expected ',' or '\(Unicode.Scalar(close))'", at: at) }
                break
            }
            container.tail = Array(ring[ringNext...] + ring[..<ringNext])
            container.end = at + 1
            containers[start] = container
            return container
        }

        /// Past the value at `start`, by structure alone.
        private func end(ofValueAt start: Int) throws(JSONParseError) -> Int {
            guard start < count else { throw unexpected("expected a JSON value", at: start) }
            var at = start
            switch bytes[at] {
            case quote:
                return try end(ofStringAt: at)
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                var depth = 0
                while at < count {
                    switch bytes[at] {
                    case quote:
                        at = try end(ofStringAt: at)
                        continue
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        depth += 1
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        depth -= 1
                        if depth == 0 { return at + 1 }
                    default:
                        break
                    }
                    at += 1
                }
                throw unexpected("expected the end of an array or object", at: at)
            default:
                while at < count {
                    switch bytes[at] {
                    case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x0A, 0x0D, 0x09: return at
                    default: at += 1
                    }
                }
                return at
            }
        }

        /// Past the string whose opening quote is at `start`.
        private func end(ofStringAt start: Int) throws(JSONParseError) -> Int {
            try span(ofStringAt: start).end
        }

        /// Past the string whose opening quote is at `start`, and whether it holds an escape.
        private func span(ofStringAt start: Int) throws(JSONParseError) -> (end: Int, escaped: Bool) {
            var at = start + 1
            var escaped = false
            while at < count {
                let byte = bytes[at]
                if byte == quote { return (at + 1, escaped) }
                if byte == backslash {
                    escaped = true
                    at += 2
                } else {
                    at += 1
                }
            }
            throw unexpected("expected '\"' to end the string", at: count)
        }

        private func skipWhitespace(from start: Int) -> Int {
            var at = start
            while at < count {
                switch bytes[at] {
                case 0x20, 0x0A, 0x0D, 0x09: at += 1
                default: return at
                }
            }
            return at
        }

        private func unexpected(_ what: String, at offset: Int) -> JSONParseError {
            parser.error(offset < count ? .unexpectedCharacter : .unexpectedEndOfInput, what, at: offset)
        }
    }
}
