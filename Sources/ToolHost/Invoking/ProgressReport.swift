/// How far a running call has come, as its handler reported it (`toolhost_host_api.report_progress`, ABI 1.2).
public struct ProgressReport: Sendable, Equatable {
    /// The work done so far, finite and at least 0, in the plugin's unit.
    public var done: Double
    /// What ``done`` reaches when the call is complete; nil when the plugin does not know.
    public var total: Double?
    /// A short status line (at most ``maxMessageBytes`` bytes of UTF-8); nil for none.
    public var message: String?

    public init(done: Double, total: Double? = nil, message: String? = nil) {
        self.done = done
        self.total = total
        self.message = message
    }

    /// The most of a report's message kept, in bytes (cut at a character boundary).
    public static let maxMessageBytes = 256

    /// The fraction done, in 0...1, when the total is known and positive.
    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, max(0, done / total))
    }

    /// A report from the C function's arguments: nil when `done` is not a finite number at least 0; a negative or
    /// NaN `total` is unknown; the message cut to ``maxMessageBytes`` at a UTF-8 character boundary.
    init?(done: Double, total: Double, message: UnsafeRawBufferPointer?) {
        guard done.isFinite, done >= 0 else { return nil }
        self.done = done
        self.total = total.isFinite && total >= 0 ? total : nil
        guard let message, !message.isEmpty else {
            self.message = nil
            return
        }
        var count = min(message.count, Self.maxMessageBytes)
        // Not in the middle of a character: back off continuation bytes (10xxxxxx) to the start of the last one.
        if count < message.count {
            while count > 0 && message[count] & 0xC0 == 0x80 { count -= 1 }
        }
        self.message = String(decoding: UnsafeRawBufferPointer(rebasing: message[0..<count]), as: UTF8.self)
    }
}
