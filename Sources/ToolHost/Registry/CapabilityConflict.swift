import ToolHostJSON

/// A tool that declares it provides a capability but is not added as a provider: its input schema does not agree
/// with the schema of the capability's first provider.
///
/// "Agree" means equal as JSON values, which is equality of the canonical form: member order, whitespace and the
/// spelling of numbers (`1` and `1.0`) do not matter; anything else does, a `description` included, because a
/// caller of the capability reads one schema and any provider may serve the call. The first provider is the one
/// the registry met first: plugins serving already before newcomers, then by folder name, tools in manifest order.
public struct CapabilityConflict: Sendable, Hashable, CustomStringConvertible {
    /// The capability.
    public var capability: String
    /// The tool refused as a provider, `<plugin>.<tool>` (it stays callable by its own name).
    public var tool: String
    /// The provider whose schema it had to agree with, `<plugin>.<tool>`.
    public var provider: String
    /// Where the two schemas first differ.
    public var difference: String

    public var description: String {
        "tool '\(tool)' is not a provider of capability '\(capability)': its input schema differs from that of "
            + "'\(provider)', which provides it (\(difference)); \(Self.hint)"
    }

    /// What to do about a conflict.
    static let hint =
        "give every provider of a capability the same inputSchema (compared as JSON: member order and whitespace do "
        + "not matter), or provide a capability of another name"

    /// Where two input schemas first differ, as a JSON pointer with both values; nil when they agree.
    static func schemaDifference(_ first: JSONValue, _ second: JSONValue) -> String? {
        guard first != second else { return nil }
        return difference(first, second, at: JSONPointer())
    }

    private static func difference(_ first: JSONValue, _ second: JSONValue, at path: JSONPointer) -> String {
        let shown = path.tokens.isEmpty ? "the root" : path.description
        switch (first, second) {
        case (.object(let a), .object(let b)):
            for key in Set(a.keys).union(b.keys).sorted() {
                let inner = path.appending(key)
                switch (a[key], b[key]) {
                case (let x?, let y?) where x != y: return difference(x, y, at: inner)
                case (_?, nil): return "\(inner) only in the first"
                case (nil, _?): return "\(inner) only in the second"
                default: continue
                }
            }
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return "\(shown): \(a.count) items against \(b.count)" }
            for (index, (x, y)) in zip(a, b).enumerated() where x != y {
                return difference(x, y, at: path.appending(index))
            }
        default:
            break
        }
        return "\(shown): \(brief(first)) against \(brief(second))"
    }

    private static func brief(_ value: JSONValue) -> String {
        let text = value.serializedString
        return text.count > 40 ? text.prefix(40) + "…" : text
    }
}
