import ArgumentParser
import ToolHost

/// `toolhost keygen`: an Ed25519 key pair for signing plugins.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make an Ed25519 key pair for signing plugins (toolhost sign).",
        discussion: """
            Writes NAME.key, the private key (mode 0600: keep it secret, it signs plugins), and NAME.pub, the \
            public key: copy it into the trust store (trustedKeysDirectory) of every host that should trust \
            plugins signed with it. Prints the key's id, which signatures and the host's messages name. Neither \
            file may exist already.
            """)

    @Option(name: .long, help: ArgumentHelp("The path of both files, without .key and .pub.", valueName: "name"))
    var out: String

    func run() throws {
        do {
            let pair = try PluginSigning.generateKey(name: out)
            print("key id: \(pair.keyID)")
            print("private key: \(pair.privateKeyPath) (keep it secret)")
            print("public key: \(pair.publicKeyPath) (copy it into the trust store of each host that trusts it)")
        } catch {
            printError("toolhost: keygen: \(error)")
            throw ExitCode(1)
        }
    }
}
