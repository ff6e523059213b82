import Foundation
import Logging
import Testing
import ToolHostJSON
import ToolHostTesting

@testable import ToolHost

/// Signed plugins: real Ed25519 keys from `PluginSigning.generateKey`, real plugin folders signed with
/// `PluginSigning.sign`, and a host that verifies them against a trust store of `.pub` files.
@Suite struct SignatureTests {
    /// A key pair in a folder of its own.
    private func key(_ name: String) throws -> PluginSigning.KeyPair {
        try PluginSigning.generateKey(name: Fixtures.temporaryDirectory("toolhost-keys") + "/" + name)
    }

    /// A trust store holding the public keys of `keys`.
    private func trustStore(_ keys: [PluginSigning.KeyPair]) throws -> String {
        let directory = Fixtures.temporaryDirectory("toolhost-trust")
        for key in keys {
            try FileManager.default.copyItem(
                atPath: key.publicKeyPath,
                toPath: directory + "/" + URL(fileURLWithPath: key.publicKeyPath).lastPathComponent)
        }
        return directory
    }

    /// A plugins directory with the probe plugin in `probe/` (its manifest does not pin the library's sha256, so
    /// only the signature covers the library), signed with `signer` when given.
    private func plugins(signedWith signer: PluginSigning.KeyPair?) async throws -> String {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let directory = try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(),
            libraryFrom: try await Fixtures.compile())
        if let signer { _ = try PluginSigning.sign(directory: directory, keyFile: signer.privateKeyPath) }
        return plugins
    }

    private func host(
        _ plugins: String, mode: SignatureMode, trusting trust: String?, isolation: IsolationMode = .inprocess,
        logger: Logger = Logger(label: "test")
    ) -> ToolHost {
        var configuration = ToolHost.Configuration(
            pluginsDirectory: plugins, libraryStore: Fixtures.temporaryDirectory("toolhost-store"))
        configuration.signatures = .init(mode: mode, trustedKeysDirectory: trust)
        configuration.isolation.mode = isolation
        configuration.isolation.workerExecutable = Fixtures.binary
        return ToolHost(configuration: configuration, logger: logger)
    }

    /// Calls `probe.echo` and returns the error it fails with.
    private func refusal(_ host: ToolHost) async throws -> ToolError {
        let error = await #expect(throws: ToolError.self) { _ = try await host.call("probe.echo", arguments: [:]) }
        return try #require(error)
    }

    @Test func aPluginSignedByATrustedKeyLoadsUnderRequire() async throws {
        let signer = try key("alice")
        let host = host(try await plugins(signedWith: signer), mode: .require, trusting: try trustStore([signer]))
        #expect(try await host.call("probe.echo", arguments: ["signed": true]).json == ["signed": true])
        #expect(host.plugins().first?.state == .loaded)
    }

    /// What changes after signing: the library, or the manifest (which the author could otherwise point at another
    /// library, or give other policies).
    enum Tampering: String, CaseIterable { case library, manifest }

    @Test(arguments: Tampering.allCases, IsolationMode.allCases)
    func aPluginChangedAfterSigningIsRefusedNamingItAndTheKey(
        _ tampering: Tampering, isolation: IsolationMode
    ) async throws {
        let signer = try key("alice")
        let plugins = try await plugins(signedWith: signer)
        switch tampering {
        case .library:
            // Another build of the same plugin: it would load and register the same tools, unsigned.
            let other = try await Fixtures.compile(defines: ["FIXTURE_INSTANCE=\"tampered\""])
            try FileManager.default.removeItem(atPath: plugins + "/probe/libprobe.so")
            try FileManager.default.copyItem(atPath: other, toPath: plugins + "/probe/libprobe.so")
        case .manifest:
            let manifest = Fixtures.probeManifest(toolPolicy: ["echo": ["timeoutMs": 60000]])
            try Data(manifest.serialized()).write(to: URL(fileURLWithPath: plugins + "/probe/manifest.json"))
        }
        let host = host(plugins, mode: .require, trusting: try trustStore([signer]), isolation: isolation)
        defer { host.shutdown() }
        let error = try await refusal(host)
        #expect(error.code == .pluginUnavailable)
        #expect(error.message.contains("plugin 'probe' is refused (signatures: require)"), "\(error.message)")
        #expect(error.message.contains("signature by key \(signer.keyID) that does not match"), "\(error.message)")
        #expect(error.message.contains("toolhost sign"))
    }

    @Test func anUnsignedPluginIsRefusedUnderRequireAndLoadsWithAWarningUnderWarn() async throws {
        let plugins = try await plugins(signedWith: nil)
        let trust = try trustStore([try key("alice")])
        let error = try await refusal(host(plugins, mode: .require, trusting: trust))
        #expect(error.code == .pluginUnavailable)
        #expect(error.message.contains("plugin 'probe' is refused (signatures: require): it is not signed"))
        #expect(error.message.contains("toolhost sign \(plugins)/probe --key"), "\(error.message)")

        let lines = LogLines()
        var logger = Logger(label: "test") { _ in lines.handler }
        logger.logLevel = .warning  // the warning must reach an operator's log at its default level
        let warned = host(plugins, mode: .warn, trusting: trust, logger: logger)
        #expect(try await warned.call("probe.echo", arguments: ["x": 1]).json == ["x": 1])
        let warning = lines.all.first { $0.contains("loads anyway (signatures: warn)") }
        #expect(warning?.contains("plugin 'probe' is not signed") == true, "\(lines.all)")
        #expect(warning?.contains("plugin.name=probe") == true)

        let off = host(plugins, mode: .off, trusting: nil)
        #expect(try await off.call("probe.echo", arguments: ["x": 2]).json == ["x": 2], "off: not looked at")
    }

    @Test func aKeyNotInTheTrustStoreIsRefusedNamingTheKeyID() async throws {
        let stranger = try key("mallory")
        let trust = try trustStore([try key("alice")])
        let error = try await refusal(host(try await plugins(signedWith: stranger), mode: .require, trusting: trust))
        #expect(error.code == .pluginUnavailable)
        #expect(
            error.message.contains("is signed by key \(stranger.keyID), which is not in the trust store \(trust)"),
            "\(error.message)")
        #expect(error.message.contains("add their public key (key id \(stranger.keyID)"))
    }

    @Test func aHotAddedPluginIsVerifiedBeforeItsToolsArePublished() async throws {
        let signer = try key("alice")
        let trust = try trustStore([signer])
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let host = host(plugins, mode: .require, trusting: trust)
        try Fixtures.install(
            in: plugins, folder: "unsigned", manifest: Fixtures.probeManifest(name: "unsigned"),
            libraryFrom: try await Fixtures.compile(defines: ["PLUGIN_NAME=\"unsigned\""]))
        let signed = try Fixtures.install(
            in: plugins, folder: "signed", manifest: Fixtures.probeManifest(name: "signed"),
            libraryFrom: try await Fixtures.compile(defines: ["PLUGIN_NAME=\"signed\""]))
        _ = try PluginSigning.sign(directory: signed, keyFile: signer.privateKeyPath)
        // What the daemon's watcher does on a change; it blocks, so on a thread of its own.
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                host.reload(loadNewPlugins: true)
                continuation.resume()
            }
        }
        let states = Dictionary(uniqueKeysWithValues: host.plugins().map { ($0.name, $0) })
        #expect(states["signed"]?.state == .loaded)
        #expect(states["unsigned"]?.state == .failed)
        #expect(states["unsigned"]?.error?.message.contains("is refused (signatures: require)") == true)
    }

    @Test func signingRefusesALibraryThatDoesNotMatchItsPinnedSHA256() async throws {
        let plugins = Fixtures.temporaryDirectory("toolhost-plugins")
        let directory = try Fixtures.install(
            in: plugins, folder: "probe", manifest: Fixtures.probeManifest(sha256: String(repeating: "0", count: 64)),
            libraryFrom: try await Fixtures.compile())
        let error = #expect(throws: SigningError.self) {
            _ = try PluginSigning.sign(directory: directory, keyFile: try key("alice").privateKeyPath)
        }
        #expect(error?.message.contains("manifest.json pins 000") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: directory + "/manifest.sig"))
    }

    @Test func keygenWritesAPrivateKeyOnlyItsOwnerCanReadAndRefusesToOverwrite() throws {
        let pair = try key("alice")
        let attributes = try FileManager.default.attributesOfItem(atPath: pair.privateKeyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(pair.keyID.count == 16)
        let name = String(pair.privateKeyPath.dropLast(".key".count))
        #expect(throws: SigningError.self) { _ = try PluginSigning.generateKey(name: name) }
    }
}
