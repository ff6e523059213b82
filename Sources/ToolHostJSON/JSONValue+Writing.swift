extension JSONValue {
    /// Compact UTF-8 JSON: no whitespace, object members in insertion order.
    ///
    /// Integers are written exactly; doubles in shortest round-trip form (`1.0`, `1.5e-7`); non-finite doubles
    /// (which parsing never produces) as `null`.
    /// - Returns: the UTF-8 bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        JSONWriter.write(self, into: &out, canonical: false)
        return out
    }

    /// Compact JSON text, as ``serialized()``.
    public var serializedString: String {
        String(decoding: serialized(), as: UTF8.self)
    }

    /// Human-readable JSON with one member or element per line, in insertion order.
    /// - Parameter indent: spaces per nesting level.
    /// - Returns: the text, without a trailing newline.
    public func prettyPrinted(indent: Int = 2) -> String {
        var out: [UInt8] = []
        JSONWriter.writePretty(self, into: &out, indent: indent, level: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical UTF-8 form, suitable for hashing: values that are equal as JSON give identical bytes.
    ///
    /// Object keys are sorted by Unicode code point at every depth; there is no whitespace; numbers with equal
    /// values are written identically (`1`, `1.0` and `1e0` as `1`, `-0` as `0`, other doubles in shortest
    /// round-trip form with a plain exponent such as `1.5e-7` or `1e300`); strings escape only `"`, `\` and
    /// control characters (`\b \f \n \r \t`, others as `\u00XX`), everything else is raw UTF-8.
    /// - Returns: the canonical bytes.
    public func canonical() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        JSONWriter.write(self, into: &out, canonical: true)
        return out
    }
}

enum JSONWriter {
    static func write(_ value: JSONValue, into out: inout [UInt8], canonical: Bool) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .int(let i): JSONNumber.write(i, into: &out)
        case .double(let d): JSONNumber.write(d, integralAsInteger: canonical, into: &out)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out, canonical: canonical)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            if canonical {
                // Sorted only when out of order: most objects (one key, or keys a client already sorted) are
                // written without allocating a sorted copy.
                let entries = o.entries
                var inOrder = true
                var index = 1
                while inOrder && index < entries.count {
                    inOrder = JSONText.less(entries[index - 1].key, entries[index].key)
                    index += 1
                }
                let sorted = inOrder ? entries : entries.sorted { JSONText.less($0.key, $1.key) }
                for (i, entry) in sorted.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    writeString(entry.key, into: &out)
                    out.append(UInt8(ascii: ":"))
                    write(entry.value, into: &out, canonical: true)
                }
            } else {
                for (i, entry) in o.entries.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    writeString(entry.key, into: &out)
                    out.append(UInt8(ascii: ":"))
                    write(entry.value, into: &out, canonical: false)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writePretty(_ value: JSONValue, into out: inout [UInt8], indent: Int, level: Int) {
        func newline(_ level: Int) {
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
        }
        switch value {
        case .array(let a) where !a.isEmpty:
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                writePretty(element, into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "]"))
        case .object(let o) where !o.isEmpty:
            out.append(UInt8(ascii: "{"))
            for (i, entry) in o.entries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                writeString(entry.key, into: &out)
                out.append(contentsOf: ": ".utf8)
                writePretty(entry.value, into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "}"))
        default:
            write(value, into: &out, canonical: false)
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { buffer in
            var runStart = 0
            for (i, b) in buffer.enumerated() where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<i]))
                runStart = i + 1
                out.append(UInt8(ascii: "\\"))
                switch b {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: "u00".utf8)
                    out.append(hex[Int(b >> 4)])
                    out.append(hex[Int(b & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
