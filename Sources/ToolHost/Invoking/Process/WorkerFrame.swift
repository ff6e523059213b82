/// The compact binary framing between the host and a worker process (no JSON-RPC): a little-endian
/// `u32` payload length, then the payload, whose first byte is the frame kind.
package enum WorkerFrame: Equatable {
    /// Host → worker, once, first: the text of the manifest the host validated, which the worker parses and
    /// loads (with the private library copy named on its command line) instead of reading the plugin folder.
    case load(manifest: [UInt8])
    /// Host → worker: run a tool. `deadline` is CLOCK_MONOTONIC ns (the same clock in both processes);
    /// `spin` asks the worker to poll briefly for the next call before sleeping (when calls come one by one);
    /// `progress` asks it to forward the handler's progress reports (someone follows the call).
    case call(tool: String, arguments: [UInt8], deadline: UInt64, spin: Bool, progress: Bool = false)
    /// Worker → host, once after start: the plugin loaded, with its tools (name, thread-safe) and what the worker
    /// applied of its sandbox, or why it did not load.
    case ready(tools: [(name: String, threadSafe: Bool)], sandbox: WorkerSandbox.Report)
    case failedToLoad(message: String)
    /// Worker → host: how a call ended (`status` is the handler's; -1 marks a host-side error text).
    case result(status: Int32, output: [UInt8], message: String?)
    /// Worker → host, during a call: the latest progress report of its handler (the worker coalesces them).
    case progress(ProgressReport)

    package static func == (lhs: WorkerFrame, rhs: WorkerFrame) -> Bool {
        lhs.encoded() == rhs.encoded()
    }

    /// The largest frame either side accepts beyond the output limit (headers, names, messages).
    static let overhead = 1 << 20

    // MARK: encoding

    /// The whole frame, length prefix included.
    package func encoded() -> [UInt8] {
        var frame: [UInt8] = []
        encode(into: &frame)
        return frame
    }

    /// Appends the whole frame, length prefix included, to `buffer` (one copy of each part, no temporaries).
    func encode(into buffer: inout [UInt8]) {
        var writer = ByteWriter()
        swap(&writer.data, &buffer)
        defer { swap(&writer.data, &buffer) }
        let start = writer.data.count
        writer.u32(0)  // the length, filled in below
        switch self {
        case .load(let manifest):
            writer.u8(5)
            writer.bytes(manifest)
        case .call(let tool, let arguments, let deadline, let spin, let progress):
            writer.u8(1)
            writer.string(tool)
            writer.bytes(arguments)
            writer.u64(deadline)
            writer.u8((spin ? 1 : 0) | (progress ? 2 : 0))
        case .ready(let tools, let sandbox):
            writer.u8(2)
            writer.u32(UInt32(tools.count))
            for tool in tools {
                writer.string(tool.name)
                writer.u8(tool.threadSafe ? 1 : 0)
            }
            for list in [sandbox.applied, sandbox.notApplied] {
                writer.u32(UInt32(list.count))
                for item in list { writer.string(item) }
            }
        case .failedToLoad(let message):
            writer.u8(3)
            writer.string(message)
        case .result(let status, let output, let message):
            writer.u8(4)
            writer.u32(UInt32(bitPattern: status))
            writer.bytes(output)
            writer.u8(message == nil ? 0 : 1)
            writer.string(message ?? "")
        case .progress(let report):
            writer.u8(6)
            writer.u64(report.done.bitPattern)
            writer.u8(report.total == nil ? 0 : 1)
            writer.u64((report.total ?? 0).bitPattern)
            writer.u8(report.message == nil ? 0 : 1)
            writer.string(report.message ?? "")
        }
        let length = UInt32(writer.data.count - start - 4).littleEndian
        writer.data.withUnsafeMutableBytes { $0.storeBytes(of: length, toByteOffset: start, as: UInt32.self) }
    }

    /// Decodes one payload (without its length prefix).
    package init?(payload: ArraySlice<UInt8>) {
        var reader = ByteReader(payload)
        guard let kind = reader.u8() else { return nil }
        switch kind {
        case 1:
            guard let tool = reader.bytes(), let arguments = reader.bytes(), let deadline = reader.u64(),
                let spin = reader.u8()
            else {
                return nil
            }
            self = .call(
                tool: String(decoding: tool, as: UTF8.self), arguments: arguments, deadline: deadline,
                spin: spin & 1 != 0, progress: spin & 2 != 0)
        case 2:
            guard let count = reader.u32(), count < 1 << 16 else { return nil }
            var tools: [(String, Bool)] = []
            for _ in 0..<count {
                guard let name = reader.bytes(), let flag = reader.u8() else { return nil }
                tools.append((String(decoding: name, as: UTF8.self), flag != 0))
            }
            var lists: [[String]] = []
            for _ in 0..<2 {
                guard let count = reader.u32(), count < 1 << 8 else { return nil }
                var list: [String] = []
                for _ in 0..<count {
                    guard let item = reader.bytes() else { return nil }
                    list.append(String(decoding: item, as: UTF8.self))
                }
                lists.append(list)
            }
            self = .ready(tools: tools, sandbox: WorkerSandbox.Report(applied: lists[0], notApplied: lists[1]))
        case 3:
            guard let message = reader.bytes() else { return nil }
            self = .failedToLoad(message: String(decoding: message, as: UTF8.self))
        case 4:
            guard let status = reader.u32(), let output = reader.bytes(), let hasMessage = reader.u8(),
                let message = reader.bytes()
            else { return nil }
            self = .result(
                status: Int32(bitPattern: status), output: output,
                message: hasMessage == 0 ? nil : String(decoding: message, as: UTF8.self))
        case 5:
            guard let manifest = reader.bytes() else { return nil }
            self = .load(manifest: manifest)
        case 6:
            guard let done = reader.u64(), let hasTotal = reader.u8(), let total = reader.u64(),
                let hasMessage = reader.u8(), let message = reader.bytes(),
                message.count <= ProgressReport.maxMessageBytes
            else { return nil }
            let report = ProgressReport(
                done: Double(bitPattern: done), total: hasTotal == 0 ? nil : Double(bitPattern: total),
                message: hasMessage == 0 ? nil : String(decoding: message, as: UTF8.self))
            // A worker sends only reports the plugin's checks let through.
            guard report.done.isFinite, report.done >= 0 else { return nil }
            self = .progress(report)
        default:
            return nil
        }
        guard reader.atEnd else { return nil }
    }
}

struct ByteWriter {
    var data: [UInt8] = []
    mutating func u8(_ value: UInt8) { data.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    mutating func bytes(_ value: [UInt8]) {
        u32(UInt32(value.count))
        data.append(contentsOf: value)
    }
    mutating func string(_ value: String) {
        u32(UInt32(value.utf8.count))
        data.append(contentsOf: value.utf8)
    }
}

struct ByteReader {
    private let data: ArraySlice<UInt8>
    private var position: Int
    private let end: Int
    init(_ data: ArraySlice<UInt8>) {
        self.data = data
        position = data.startIndex
        end = data.endIndex
    }
    var atEnd: Bool { position == end }

    mutating func u8() -> UInt8? {
        guard position < end else { return nil }
        defer { position += 1 }
        return data[position]
    }

    mutating func u32() -> UInt32? {
        guard position + 4 <= end else { return nil }
        var value: UInt32 = 0
        for index in (0..<4).reversed() { value = value << 8 | UInt32(data[position + index]) }
        position += 4
        return value
    }

    mutating func u64() -> UInt64? {
        guard position + 8 <= end else { return nil }
        var value: UInt64 = 0
        for index in (0..<8).reversed() { value = value << 8 | UInt64(data[position + index]) }
        position += 8
        return value
    }

    mutating func bytes() -> [UInt8]? {
        guard let count = u32().map(Int.init), position + count <= end else { return nil }
        defer { position += count }
        return Array(data[position..<position + count])
    }
}
