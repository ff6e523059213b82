import Foundation
import Logging
import ToolHostJSON

extension PluginCheck {
    /// A call `toolhost check --call TOOL JSON` makes, besides the manifest's examples.
    public struct OneOffCall: Sendable {
        /// The tool, with or without its plugin's name (`reverse` or `rustkit.reverse`).
        public var tool: String
        public var arguments: JSONValue
        public init(tool: String, arguments: JSONValue) {
            self.tool = tool
            self.arguments = arguments
        }
    }

    /// Runs every tool's `examples` and the one-off calls through a host of their own over a copy of the plugin
    /// folder, with the plugin in worker processes: a handler that crashes, hangs or answers wrongly is reported,
    /// and the check goes on. The whole pipeline runs (the input schema, the timeout, the output limit).
    /// - Returns: the problems (a wrong or failed answer), the answers of the one-off calls (one line each), how many
    ///   examples ran and how many of them failed.
    static func runExamples(
        _ manifest: PluginManifest, directory: String, logger: Logger, libraryStore: String?,
        allowedSystemLibraries: Set<String>, workerExecutable: String, oneOff: [OneOffCall]
    ) async -> (problems: [String], answers: [String], examples: Int, examplesFailed: Int) {
        let examples = manifest.tools.flatMap { tool in
            tool.examples.enumerated().map { (tool.name, $0.offset, $0.element) }
        }
        guard !examples.isEmpty || !oneOff.isEmpty else { return ([], [], 0, 0) }
        let plugins = NSTemporaryDirectory() + "toolhost-check-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: plugins) }
        do {
            let folder = plugins + "/" + manifest.name
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(manifest.text).write(to: URL(fileURLWithPath: folder + "/" + PluginManifest.fileName))
            if !manifest.library.isSystem {
                try FileManager.default.copyItem(
                    atPath: directory + "/" + manifest.library.file, toPath: folder + "/" + manifest.library.file)
            }
        } catch {
            return (["cannot copy the plugin to run its examples: \(error)"], [], examples.count, examples.count)
        }
        var configuration = ToolHost.Configuration(pluginsDirectory: plugins, libraryStore: libraryStore)
        configuration.allowedSystemLibraries = allowedSystemLibraries
        configuration.isolation.mode = .process
        configuration.isolation.workerExecutable = workerExecutable
        let host = ToolHost(configuration: configuration, logger: logger)
        defer { host.shutdown() }

        var problems: [String] = []
        for (tool, index, example) in examples {
            let outcome = await host.call(ToolCall(tool: manifest.name + "." + tool, arguments: example.arguments))
            let what = "tool '\(tool)', example \(index + 1) \(example.arguments.serializedText)"
            switch (outcome, example.expected) {
            case (.success, .success):
                break
            case (.success(let result), .result(let expected)):
                if result.json != expected {
                    problems.append(
                        "\(what): answered \(result.json.serializedText), expected \(expected.serializedText); fix "
                            + "the handler, or the example's \"result\"")
                }
            case (.success(let result), .error(let code)):
                problems.append(
                    "\(what): answered \(result.json.serializedText), expected the error \(code); fix the handler, "
                        + "or the example's \"error\"")
            case (.failure(let error), .error(let code)):
                if error.code.rawValue != code {
                    problems.append(
                        "\(what): failed with \(error.code.rawValue), expected \(code): \(error.message)")
                }
            case (.failure(let error), _):
                problems.append(
                    "\(what): failed with \(error.code.rawValue): \(error.message); fix the handler (or the "
                        + "example's arguments, if they are what is wrong)")
            }
        }
        let examplesFailed = problems.count
        var answers: [String] = []
        for call in oneOff {
            let name = call.tool.hasPrefix(manifest.name + ".") ? call.tool : manifest.name + "." + call.tool
            switch await host.call(ToolCall(tool: name, arguments: call.arguments)) {
            case .success(let result):
                answers.append("\(name) \(call.arguments.serializedText) -> \(result.json.serializedText)")
            case .failure(let error):
                problems.append(
                    "--call \(name) \(call.arguments.serializedText): failed with \(error.code.rawValue): "
                        + error.message)
            }
        }
        return (problems, answers, examples.count, examplesFailed)
    }
}

extension JSONValue {
    /// The canonical text, for messages.
    fileprivate var serializedText: String { String(decoding: serialized(), as: UTF8.self) }
}
