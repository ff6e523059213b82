import ArgumentParser
import Foundation
import FoundationNetworking
import Logging
import ToolHost
import ToolHostJSON
import ToolHostServer

struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Report or clear the result cache: a running daemon's (--url), else the local L2 file.",
        discussion: """
            With --url the daemon answers (GET and DELETE /v1/cache): its memory tier (L1) and its L2 file. Without \
            it the L2 file named by the settings (cache.l2Path, else cache.sqlite in the state directory) is read or \
            cleared directly; a daemon using the same file sees the change, its memory tier does not. Prints JSON; \
            exits 1 when the daemon cannot be reached or refuses, or the file cannot be written.
            """,
        subcommands: [CacheStatsCommand.self, CacheClearCommand.self])
}

/// Where `toolhost cache` goes: a daemon, or the local file.
struct CacheTarget: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("A running daemon's base URL, e.g. http://127.0.0.1:8080.", valueName: "url"))
    var url: String?

    @Option(
        name: .customLong("token-file"),
        help: ArgumentHelp(
            "A file holding the daemon's bearer token (default: the tokenFile setting, $TOOLHOST_TOKEN_FILE).",
            valueName: "file"))
    var tokenFile: String?

    @OptionGroup var settings: SettingsOptions

    /// Sends a request to the daemon and prints its JSON answer.
    /// - Parameters:
    ///   - method: GET or DELETE.
    ///   - query: the query parameters.
    func ask(_ method: String, query: [URLQueryItem]) async throws {
        guard let url, var components = URLComponents(string: url), components.scheme != nil else {
            printError("toolhost: cache: --url must be a URL such as http://127.0.0.1:8080, not '\(url ?? "")'")
            throw ExitCode(64)
        }
        components.path = components.path.hasSuffix("/") ? components.path + "v1/cache" : components.path + "/v1/cache"
        if !query.isEmpty { components.queryItems = query }
        guard let target = components.url else {
            printError("toolhost: cache: cannot make a URL of '\(url)'")
            throw ExitCode(64)
        }
        var request = URLRequest(url: target)
        request.httpMethod = method
        if let token = try readToken() { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            printError("toolhost: cache: cannot reach the daemon at \(target): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let body = String(decoding: data, as: UTF8.self)
            printError("toolhost: cache: the daemon answered \(status): \(body)")
            throw ExitCode(1)
        }
        print(((try? JSONValue.parse(Array(data))) ?? .null).prettyPrinted())
    }

    /// The token from `--token-file`, else from the settings' `tokenFile`.
    private func readToken() throws -> String? {
        let file = try tokenFile ?? settings.read("cache").http.tokenFile
        guard let file else { return nil }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            printError("toolhost: cache: cannot read the token file '\(file)'")
            throw ExitCode(64)
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Opens the local L2 file (nil, after printing why, when there is none).
    func openLocal() async throws -> SQLiteResultCache? {
        let settings = try settings.read("cache")
        bootstrapLogging(settings.logLevel)
        let l2 = settings.host.cache.l2
        let path = l2.resolvedPath(libraryStore: settings.host.libraryStore)
        guard FileManager.default.fileExists(atPath: path) else {
            let status = CacheTierStatus(
                tier: "l2", state: "off", maxBytes: l2.maxBytes, path: path, problem: "there is no file at \(path)")
            print(CacheTierStatus.wireJSON([status]).prettyPrinted())
            return nil
        }
        var configuration = SQLiteResultCache.Configuration(path: path, maxBytes: l2.maxBytes, budget: l2.budget)
        configuration.openWait = .seconds(10)
        let cache = SQLiteResultCache(configuration: configuration, logger: Logger(label: "toolhost.cache"))
        await cache.waitUntilOpen()
        return cache
    }
}

struct CacheStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Print each cache tier's state, entries, bytes, hits, misses and errors.")

    @OptionGroup var target: CacheTarget

    func run() async throws {
        if target.url != nil { return try await target.ask("GET", query: []) }
        guard let cache = try await target.openLocal() else { return }
        let status = cache.status
        await cache.close()
        print(CacheTierStatus.wireJSON([status]).prettyPrinted())
        if status.state == "off" { throw ExitCode(1) }
    }
}

struct CacheClearCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear", abstract: "Remove cached results: all, one plugin's (--plugin) or one tool's (--tool).")

    @Option(name: .long, help: "Only this plugin's results.")
    var plugin: String?

    @Option(name: .long, help: ArgumentHelp("Only this tool's results.", valueName: "plugin.tool"))
    var tool: String?

    @OptionGroup var target: CacheTarget

    func run() async throws {
        if target.url != nil {
            let query = [
                plugin.map { URLQueryItem(name: "plugin", value: $0) },
                tool.map { URLQueryItem(name: "tool", value: $0) },
            ]
            return try await target.ask("DELETE", query: query.compactMap { $0 })
        }
        guard let cache = try await target.openLocal() else { return }
        let removed = await cache.invalidate(plugin: plugin, tool: tool)
        await cache.close()
        print(CacheRemoval(l1: 0, l2: removed).wireJSON.prettyPrinted())
        if removed == nil {
            printError("toolhost: cache: the L2 file \(cache.configuration.path) could not be written: \(cache.status)")
            throw ExitCode(1)
        }
    }
}
