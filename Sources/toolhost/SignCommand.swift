import ArgumentParser
import ToolHost

/// `toolhost sign DIR`: writes `DIR/manifest.sig`.
struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a plugin directory: writes manifest.sig over its manifest.json and its library.",
        discussion: """
            Signs (Ed25519) the sha256 of manifest.json's bytes and the sha256 of the library file as they are now, \
            so changing either afterwards breaks the signature. Sign after the last change, and ship manifest.sig \
            with the plugin: on a host, copy it before manifest.json (the commit point). A host with signatures \
            warn or require checks it against its trust store (the .pub files of the keys it trusts).
            """)

    @Argument(help: "The plugin directory (the folder holding manifest.json).")
    var directory: String

    @Option(name: .long, help: ArgumentHelp("The private key (NAME.key from toolhost keygen).", valueName: "file"))
    var key: String

    func run() throws {
        do {
            let signed = try PluginSigning.sign(directory: directory, keyFile: key)
            print(
                "signed plugin '\(signed.pluginName)' \(signed.pluginVersion) with key \(signed.keyID): \(signed.path)")
        } catch {
            printError("toolhost: sign: \(error)")
            throw ExitCode(1)
        }
    }
}
