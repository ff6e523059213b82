import CToolHost
import Logging
import Synchronization

/// The C functions of the host table every plugin receives, and the per-plugin tables themselves.
enum HostFunctions {
    /// Loggers of the plugins, found by the address of their host table (a table identifies its plugin).
    private static let loggers = Mutex<[UInt: Logger]>([:])
    /// The tools already warned about a refused write (host table and tool name): one warning per tool, so a
    /// plugin that writes from its own threads in a loop cannot flood the log. Bounded by the tools ever loaded.
    private static let warnedTools = Mutex<Set<String>>([])

    /// A new host table for one plugin; never freed, since the plugin may keep the pointer.
    static func makeTable(logger: Logger) -> UnsafeMutablePointer<toolhost_host_api> {
        let table = UnsafeMutablePointer<toolhost_host_api>.allocate(capacity: 1)
        table.initialize(
            to: toolhost_host_api(
                struct_size: UInt32(MemoryLayout<toolhost_host_api>.size),
                abi_major: UInt32(HostABI.major), abi_minor: UInt32(HostABI.minor), reserved: 0,
                write_result: writeResult, write_error: writeError, is_cancelled: isCancelled,
                deadline_ns: deadline, log: log, report_progress: reportProgress))
        loggers.withLock { $0[UInt(bitPattern: table)] = logger }
        return table
    }

    static func level(_ raw: Int32) -> Logger.Level {
        switch raw {
        case Int32(TOOLHOST_LOG_TRACE.rawValue): .trace
        case Int32(TOOLHOST_LOG_DEBUG.rawValue): .debug
        case Int32(TOOLHOST_LOG_INFO.rawValue): .info
        case Int32(TOOLHOST_LOG_WARNING.rawValue): .warning
        default: .error
        }
    }

    static func string(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        let buffer = UnsafeRawBufferPointer(start: pointer, count: length)
        return String(decoding: buffer, as: UTF8.self)
    }

    private static let writeResult:
        @convention(c) (UnsafePointer<toolhost_call>?, UnsafePointer<CChar>?, Int) -> Int32 = {
            call, json, length in
            guard let slot = CallSlot.current(call) else {
                refused(call, function: "write_result", lost: "the bytes were dropped")
                return -1
            }
            guard length > 0, let json else { return 0 }
            return slot.appendOutput(UnsafeRawBufferPointer(start: json, count: length)) ? 0 : -1
        }

    private static let writeError: @convention(c) (UnsafePointer<toolhost_call>?, UnsafePointer<CChar>?, Int) -> Int32 =
        {
            call, message, length in
            guard let slot = CallSlot.current(call) else {
                refused(call, function: "write_error", lost: "the bytes were dropped")
                return -1
            }
            slot.setError(string(message, min(length, 64 * 1024)))
            return 0
        }

    /// Logs, once per tool, that a writer was called off its call's thread or after its call returned: the -1 it
    /// got back is easy to ignore, and the bytes are lost.
    private static func refused(_ call: UnsafePointer<toolhost_call>?, function: String, lost: String) {
        // The call struct belongs to a slot that is never freed, but its fields are rewritten by the slot's next
        // call on another thread: the slot keeps the latest call's table and tool name for this (under its lock).
        guard let (host, tool) = CallSlot.lastCall(of: call) else { return }
        guard warnedTools.withLock({ $0.insert("\(host) \(tool)").inserted }),
            let logger = loggers.withLock({ $0[host] })
        else { return }
        let message =
            "\(function) was called off the thread running the call, or after the handler returned; it returned -1 and "
            + "\(lost). Call it only on the handler's thread before the handler returns (the result "
            + "is collected then); a worker thread of the plugin must hand its output back to the handler. Logged "
            + "once per tool."
        logger.warning("\(message)", metadata: ["tool.name": "\(tool)"])
    }

    private static let isCancelled: @convention(c) (UnsafePointer<toolhost_call>?) -> Int32 = { call in
        // A call that is not running on this thread is, for the plugin, over.
        guard let slot = CallSlot.current(call) else { return 1 }
        return slot.isCancelled ? 1 : 0
    }

    private static let deadline: @convention(c) (UnsafePointer<toolhost_call>?) -> UInt64 = { call in
        CallSlot.current(call)?.deadlineNanoseconds ?? 0
    }

    private static let reportProgress:
        @convention(c) (UnsafePointer<toolhost_call>?, Double, Double, UnsafePointer<CChar>?, Int) -> Int32 = {
            call, done, total, message, length in
            guard let slot = CallSlot.current(call) else {
                refused(call, function: "report_progress", lost: "the report was dropped")
                return -1
            }
            let text = message.flatMap { length > 0 ? UnsafeRawBufferPointer(start: $0, count: length) : nil }
            return slot.reportProgress(done: done, total: total, message: text) ? 0 : -1
        }

    private static let log:
        @convention(c) (
            UnsafePointer<toolhost_host_api>?, UnsafePointer<toolhost_call>?, Int32, UnsafePointer<CChar>?, Int
        ) -> Void = { host, call, level, message, length in
            let text = string(message, min(length, 64 * 1024))
            if call != nil {
                guard let slot = CallSlot.current(call) else { return }
                slot.log(level: HostFunctions.level(level), text)
                return
            }
            guard let host, let logger = loggers.withLock({ $0[UInt(bitPattern: host)] }) else { return }
            logger.log(level: HostFunctions.level(level), "\(text)")
        }
}
