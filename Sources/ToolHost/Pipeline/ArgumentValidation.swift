import ToolHostJSON

extension ToolEntry {
    /// Checks a call's arguments against the tool's input schema (compiled when the manifest was read).
    /// - Throws: `invalid_arguments` naming each offending value by its JSON pointer.
    func validate(_ arguments: JSONValue) throws(ToolError) {
        let violations = schema.validate(arguments)
        guard !violations.isEmpty else { return }
        // Each message already starts with the offending value's JSON pointer.
        let list = violations.map { ToolError.Violation(path: $0.instancePath.description, message: $0.message) }
        throw ToolError(
            .invalidArguments,
            "arguments of '\(fullName)' do not match its input schema: " + list.map(\.message).joined(separator: "; "),
            violations: list)
    }
}
