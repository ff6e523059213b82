import Foundation
import ToolHost

/// The probe fixture plugin (Tests/ToolHostTests/Fixtures/probe.c), compiled once per run with the system
/// `cc` exactly as the tests build it, and hosts over plugin directories that hold it.
public enum ProbeFixture {
    /// The repository root (this file is Benchmarks/Sources/BenchmarkSupport/ProbeFixture.swift).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The fixture's C source.
    public static let source = root + "/Tests/ToolHostTests/Fixtures/probe.c"

    /// Every tool probe.c registers, read from its `tools[]` table (a manifest must list exactly these, and the
    /// fixture grows as the tests need): each row starts `{"name", handler, flags}`.
    public static let tools: [String] = {
        guard let text = try? String(contentsOfFile: source, encoding: .utf8),
            let table = text.range(of: " tools[] = {"),
            let end = text.range(of: "};", range: table.upperBound..<text.endIndex)
        else { fatalError("cannot find the tools[] table in \(source)") }
        let names = text[table.upperBound..<end.lowerBound].split(separator: "\n").compactMap { line -> String? in
            let row = line.drop { $0 == " " }
            guard row.hasPrefix("{\""), let close = row.dropFirst(2).firstIndex(of: "\"") else { return nil }
            return String(row[row.index(row.startIndex, offsetBy: 2)..<close])
        }
        precondition(names.contains("echo") && names.contains("hang"), "probe.c has no echo or hang tool: \(names)")
        return names
    }()

    /// A scratch directory for this run.
    public static let scratch: String = {
        let path = NSTemporaryDirectory() + "toolhost-bench-\(getpid())"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// `libprobe.so`, built once.
    public static let library: String = compilePlugin(source, to: scratch + "/libprobe.so")

    /// Builds a fixture plugin as the tests do (`cc -O2 -shared` against `plugin-sdk/include`); stops the run if
    /// it fails.
    /// - Parameter defines: `-D` definitions (the probe's variants: `PLUGIN_VERSION="2.0.0"`, ...).
    /// - Returns: `output`.
    public static func compilePlugin(_ source: String, to output: String, defines: [String] = []) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "cc", "-std=c11", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-I", root + "/plugin-sdk/include",
                source, "-o", output, "-lpthread",
            ] + defines.map { "-D" + $0 }
        do {
            try process.run()
        } catch {
            fatalError("cannot run cc: \(error)")
        }
        process.waitUntilExit()
        precondition(
            process.terminationStatus == 0, "cc failed to build \(source) (status \(process.terminationStatus))")
        return output
    }

    /// The manifest text: every probe tool; `echo` deterministic and cached for an hour when `cachedEcho`.
    public static func manifest(cachedEcho: Bool) -> String {
        let entries = tools.map { name -> String in
            var entry = #"{"name": "\#(name)", "description": "probe tool \#(name)", "inputSchema": {"type": "object"}"#
            if name == "echo" && cachedEcho {
                entry += #", "deterministic": true, "cache": {"ttlSeconds": 3600}"#
            }
            return entry + "}"
        }
        return """
            {"name": "probe", "version": "1.0.0", "abi": {"major": 1, "minor": 0},
             "library": {"file": "libprobe.so"},
             "tools": [\(entries.joined(separator: ",\n  "))]}
            """
    }

    /// A new host over a plugins directory of its own holding the probe plugin; each host has its own pool.
    /// - Parameters:
    ///   - label: names the directories.
    ///   - cachedEcho: declare `echo` deterministic with a cache TTL, and enable the cache.
    /// - Parameter awakeWait: `Limits.awakeWait`; nil keeps the host's default.
    public static func host(_ label: String, cachedEcho: Bool, awakeWait: Duration? = nil) -> ToolHost {
        let base = scratch + "/" + label
        let plugin = base + "/plugins/probe"
        let files = FileManager.default
        try? files.removeItem(atPath: base)
        try! files.createDirectory(atPath: plugin, withIntermediateDirectories: true)
        try! files.createDirectory(atPath: base + "/store", withIntermediateDirectories: true)
        try! files.copyItem(atPath: library, toPath: plugin + "/libprobe.so")
        try! Data(manifest(cachedEcho: cachedEcho).utf8).write(to: URL(fileURLWithPath: plugin + "/manifest.json"))
        var configuration = ToolHost.Configuration(pluginsDirectory: base + "/plugins", libraryStore: base + "/store")
        configuration.cache.enabled = cachedEcho
        if let awakeWait { configuration.limits.awakeWait = awakeWait }
        let host = ToolHost(configuration: configuration)
        precondition(host.tools().count == tools.count, "probe manifest not listed: \(host.problems())")
        return host
    }
}

/// How many threads of this process carry `name` (as `top -H` shows it), from /proc/self/task/*/comm.
public func threadCount(named name: String) -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.filter { task in
        let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
        return comm.trimmingCharacters(in: .whitespacesAndNewlines) == name
    }.count
}
