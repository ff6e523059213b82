import CToolHost
import Logging
import Synchronization

/// The C functions of the host table every plugin receives, and the per-plugin tables themselves.
enum HostFunctions {
    /// Loggers of the plugins, found by the address of their host table (a table identifies its plugin).
    private static let loggers = Mutex<[UInt: Logger]>([:])

    /// A new host table for one plugin; never freed, since the plugin may keep the pointer.
    static func makeTable(logger: Logger) -> UnsafeMutablePointer<toolhost_host_api> {
        let table = UnsafeMutablePointer<toolhost_host_api>.allocate(capacity: 1)
        table.initialize(
            to: toolhost_host_api(
                struct_size: UInt32(MemoryLayout<toolhost_host_api>.size),
                abi_major: UInt32(HostABI.major), abi_minor: UInt32(HostABI.minor), reserved: 0,
                write_result: writeResult, write_error: writeError, is_cancelled: isCancelled,
                deadline_ns: deadline, log: log))
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
            guard let slot = CallSlot.current(call) else { return -1 }
            guard length > 0, let json else { return 0 }
            return slot.appendOutput(UnsafeRawBufferPointer(start: json, count: length)) ? 0 : -1
        }

    private static let writeError: @convention(c) (UnsafePointer<toolhost_call>?, UnsafePointer<CChar>?, Int) -> Int32 =
        {
            call, message, length in
            guard let slot = CallSlot.current(call) else { return -1 }
            slot.setError(string(message, min(length, 64 * 1024)))
            return 0
        }

    private static let isCancelled: @convention(c) (UnsafePointer<toolhost_call>?) -> Int32 = { call in
        // A call that is not running on this thread is, for the plugin, over.
        guard let slot = CallSlot.current(call) else { return 1 }
        return slot.isCancelled ? 1 : 0
    }

    private static let deadline: @convention(c) (UnsafePointer<toolhost_call>?) -> UInt64 = { call in
        CallSlot.current(call)?.deadlineNanoseconds ?? 0
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
