import NIOCore

/// Server-sent events (the WHATWG `text/event-stream` format) as the REST API writes them.
enum ServerSentEvent {
    /// One event: `event: NAME`, the data as `data:` lines, a blank line. A line break in the data (CR, LF or CRLF:
    /// a plugin's result may be pretty-printed JSON) starts a new `data:` line, which the client joins with LF, so
    /// JSON data arrives whole (its line breaks are only ever whitespace).
    static func event(_ name: StaticString, _ data: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(data.count + 32)
        buffer.writeStaticString("event: ")
        buffer.writeStaticString(name)
        buffer.writeStaticString("\ndata: ")
        var start = 0
        var index = 0
        while index < data.count {
            let byte = data[index]
            guard byte == 0x0D || byte == 0x0A else {
                index += 1
                continue
            }
            buffer.writeBytes(data[start..<index])
            buffer.writeStaticString("\ndata: ")
            if byte == 0x0D, index + 1 < data.count, data[index + 1] == 0x0A { index += 1 }
            index += 1
            start = index
        }
        buffer.writeBytes(data[start..<data.count])
        buffer.writeStaticString("\n\n")
        return buffer
    }
}
