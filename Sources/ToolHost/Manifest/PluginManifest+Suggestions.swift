import ToolHostJSON

extension PluginManifest {
    /// The schema's violations as manifest problems, one per mistake: a misspelt field is one "unknown field …; did
    /// you mean …?" (not also the required field it leaves missing, nor the `oneOf` it makes fail), an enum value
    /// that is almost right gets the right one, and each problem names its JSON pointer once.
    static func problems(for violations: [JSONSchemaViolation], in manifest: JSONValue) -> [ManifestError.Problem] {
        // The fields a misspelling stands for, by the object that holds it: a "required" or "oneOf" failure there
        // is the same mistake seen again.
        var meant: [JSONPointer: Set<String>] = [:]
        var misspelt: Set<JSONPointer> = []
        var problems: [(JSONSchemaViolation, ManifestError.Problem)] = []
        for violation in violations {
            guard violation.keyword == "additionalProperties", let field = violation.instancePath.tokens.last else {
                continue
            }
            let holder = JSONPointer(tokens: Array(violation.instancePath.tokens.dropLast()))
            var schemaObject = JSONPointer(tokens: Array(violation.schemaPath.tokens.dropLast()))
            schemaObject.append("properties")
            let allowed = schemaObject.resolve(in: ManifestSchema.value)?.objectValue?.keys ?? []
            let present = manifest[holder]?.objectValue?.keys ?? []
            // A suggestion already present in the object would be a duplicate, not a fix.
            let suggestion = closest(to: field, among: allowed.filter { !present.contains($0) })
            misspelt.insert(holder)
            if let suggestion { meant[holder, default: []].insert(suggestion) }
            problems.append(
                (
                    violation,
                    .init(
                        path: violation.instancePath.description,
                        message: "unknown field '\(field)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                        hint: suggestion.map { "rename it to '\($0)'" }
                            ?? "remove it; the fields allowed here are \(allowed.joined(separator: ", "))")
                ))
        }
        for violation in violations where violation.keyword != "additionalProperties" {
            switch violation.keyword {
            case "required":
                if let missing = quoted(violation.message), meant[violation.instancePath]?.contains(missing) == true {
                    continue
                }
            case "oneOf", "anyOf":
                if misspelt.contains(violation.instancePath) { continue }
            case "enum":
                if let problem = enumProblem(violation, in: manifest) {
                    problems.append((violation, problem))
                    continue
                }
            default:
                break
            }
            problems.append((violation, problem(for: violation)))
        }
        // In the validator's order (the order of the document), each once.
        let order = Dictionary(violations.enumerated().map { ($0.element, $0.offset) }) { first, _ in first }
        var seen: Set<ManifestError.Problem> = []
        return problems.sorted { order[$0.0, default: 0] < order[$1.0, default: 0] }.map(\.1).filter {
            seen.insert($0).inserted
        }
    }

    /// An enum violation on a string close to one of the allowed strings.
    private static func enumProblem(_ violation: JSONSchemaViolation, in manifest: JSONValue) -> ManifestError.Problem?
    {
        guard let given = manifest[violation.instancePath]?.stringValue,
            let values = violation.schemaPath.resolve(in: ManifestSchema.value)?.arrayValue?.compactMap(\.stringValue),
            let suggestion = closest(to: given, among: values)
        else { return nil }
        return .init(
            path: violation.instancePath.description,
            message: "\"\(given)\" is not one of \(values.map { "\"\($0)\"" }.joined(separator: ", ")); did you mean "
                + "\"\(suggestion)\"?",
            hint: "use \"\(suggestion)\"")
    }

    /// The first '…'-quoted name in a message.
    private static func quoted(_ message: String) -> String? {
        let parts = message.split(separator: "'", omittingEmptySubsequences: false)
        return parts.count >= 3 ? String(parts[1]) : nil
    }

    /// The candidate nearest to `word` (edit distance, ignoring case), if it is near enough to be a slip of the
    /// keyboard: at most a third of its length, between 1 and 3 edits.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let target = Array(word.lowercased())
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(target, Array(candidate.lowercased()))
            let limit = min(3, max(1, candidate.count / 3))
            if distance <= limit, distance < best?.1 ?? .max { best = (candidate, distance) }
        }
        return best?.0
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension JSONValue {
    fileprivate subscript(pointer: JSONPointer) -> JSONValue? { pointer.resolve(in: self) }
}
