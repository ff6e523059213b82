import Logging
import Synchronization

/// Keeps what a logger logs, for assertions.
package final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    package var all: [String] { lines.withLock { $0 } }

    package init() {}

    package var handler: Handler { Handler(lines: self) }

    package struct Handler: LogHandler {
        let lines: LogLines
        package var metadata: Logger.Metadata = [:]
        package var logLevel: Logger.Level = .trace
        package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        package func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let text =
                "\(event.message) "
                + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.lines.withLock { $0.append(text) }
        }
    }
}
