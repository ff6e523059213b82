/// Everything wrong with one plugin's manifest, each problem with where it is and how to fix it.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    /// One problem in a manifest.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// JSON pointer into the manifest ("" for the whole file).
        public var path: String
        /// What is wrong.
        public var message: String
        /// What to do about it.
        public var hint: String

        public init(path: String, message: String, hint: String) {
            self.path = path
            self.message = message
            self.hint = hint
        }

        public var description: String {
            let location = path.isEmpty ? "" : "\(path): "
            return "\(location)\(message) (fix: \(hint))"
        }
    }

    /// The manifest file.
    public var file: String
    public var problems: [Problem]

    public init(file: String, problems: [Problem]) {
        self.file = file
        self.problems = problems
    }

    public var description: String {
        "\(file): " + problems.map(\.description).joined(separator: "; ")
    }
}
