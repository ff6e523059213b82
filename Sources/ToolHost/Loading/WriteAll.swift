import Glibc

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
/// - Returns: nil when everything was written, else why not (`strerror` of the failed write).
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if result < 0 {
            if errno == EINTR { continue }
            return String(cString: strerror(errno))
        }
        written += result
    }
    return nil
}
