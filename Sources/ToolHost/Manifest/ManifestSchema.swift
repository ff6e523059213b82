import ToolHostJSON

/// The published manifest schema (`plugin-sdk/manifest.schema.json`), compiled once.
public enum ManifestSchema {
    /// The schema as a JSON value.
    public static let value: JSONValue = {
        do {
            return try JSONValue.parse(text)
        } catch {
            fatalError("the embedded manifest schema is not JSON: \(error)")
        }
    }()

    /// The compiled validator.
    static let compiled: JSONSchema = {
        do {
            return try JSONSchema(value)
        } catch {
            fatalError("the embedded manifest schema does not compile: \(error)")
        }
    }()
}
