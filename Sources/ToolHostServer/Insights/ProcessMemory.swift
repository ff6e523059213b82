import Foundation

/// Resident memory read from procfs: this process's, its peak, and any process's by pid.
///
/// procfs files are made from kernel memory when read, never from a disk; the sampler still reads them on a thread
/// of its own (``MemorySamplerService``), away from the cooperative pool.
enum ProcessMemory {
    /// The resident size of a process: the second field of `/proc/<pid>/statm` (pages) times the page size.
    /// - Parameter pid: nil for this process.
    /// - Returns: bytes, or nil when the process is gone or procfs is not there.
    static func resident(pid: Int32? = nil) -> Int? {
        let path = pid.map { "/proc/\($0)/statm" } ?? "/proc/self/statm"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * pageSize
    }

    /// This process's peak resident size as the kernel tracks it (`VmHWM` in `/proc/self/status`).
    /// - Returns: bytes, or nil when procfs is not there.
    static func peakResident() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let number = line.dropFirst("VmHWM:".count).filter(\.isNumber)
            return Int(number).map { $0 * 1024 }
        }
        return nil
    }

    static let pageSize = sysconf(Int32(_SC_PAGESIZE))
}
