extension SchemaProgram {
    /// Evaluates node `index` against `value`. Without a collector it stops at the first failure and builds no
    /// paths or messages; with one it reports every failure it finds.
    func evaluate(_ index: Int, _ value: JSONValue, _ collector: ViolationCollector?, _ budget: MatchBudget) -> Bool {
        let node = nodes[index]
        var valid = true
        for check in node.checks {
            if !evaluate(check, node, value, collector, budget) {
                guard collector != nil else { return false }
                valid = false
            }
        }
        return valid
    }

    @inline(__always)
    private func child(
        _ index: Int, _ value: JSONValue, _ token: String, _ collector: ViolationCollector?, _ budget: MatchBudget
    ) -> Bool {
        guard let collector else { return evaluate(index, value, nil, budget) }
        collector.path.append(token)
        defer { collector.path.removeLast() }
        return evaluate(index, value, collector, budget)
    }

    // swift-format-ignore: FunctionBodyLength
    private func evaluate(
        _ keywordCheck: SchemaKeywordCheck, _ node: CompiledNode, _ value: JSONValue, _ c: ViolationCollector?,
        _ budget: MatchBudget
    ) -> Bool {
        let keyword = keywordCheck.keyword
        switch keywordCheck.check {
        case .never:
            c?.report("false", at: node, "no value is allowed here (the schema is false)")
            return false

        case .type(let mask, let names):
            if mask.contains(TypeMask.of(value)) { return true }
            let expected = names.count == 1 ? names[0] : "one of " + names.joined(separator: ", ")
            c?.report(keyword, at: node, "expected \(expected), got \(value.typeName)")
            return false

        case .enumeration(let values):
            if values.contains(value) { return true }
            c?.report(keyword, at: node, "\(Self.show(value)) is not one of \(Self.show(.array(values)))")
            return false

        case .constant(let expected):
            if value == expected { return true }
            c?.report(keyword, at: node, "\(Self.show(value)) is not equal to the constant \(Self.show(expected))")
            return false

        case .multipleOf(let divisor):
            guard value.isNumber, !JSONNumber.isMultiple(value, of: divisor) else { return true }
            c?.report(keyword, at: node, "\(Self.show(value)) is not a multiple of \(Self.show(divisor))")
            return false

        case .bound(let limit, let kind):
            guard let order = JSONNumber.compare(value, limit) else { return true }
            let ok: Bool
            let detail: String
            switch kind {
            case .minimum:
                ok = order >= 0
                detail = "is less than the minimum"
            case .maximum:
                ok = order <= 0
                detail = "is greater than the maximum"
            case .exclusiveMinimum:
                ok = order > 0
                detail = "is not greater than the exclusive minimum"
            case .exclusiveMaximum:
                ok = order < 0
                detail = "is not less than the exclusive maximum"
            }
            if ok { return true }
            c?.report(keyword, at: node, "\(Self.show(value)) \(detail) \(Self.show(limit))")
            return false

        case .minLength(let limit):
            guard case .string(let s) = value else { return true }
            // Count code points; utf8.count is an upper bound, so most strings need no scalar walk.
            if s.utf8.count < limit {
                c?.report(
                    keyword, at: node, "string is shorter than \(limit) characters (it has \(s.unicodeScalars.count))")
                return false
            }
            if s.utf8.count / 4 >= limit { return true }
            let n = s.unicodeScalars.count
            if n >= limit { return true }
            c?.report(keyword, at: node, "string is shorter than \(limit) characters (it has \(n))")
            return false

        case .maxLength(let limit):
            guard case .string(let s) = value else { return true }
            if s.utf8.count <= limit { return true }
            let n = s.unicodeScalars.count
            if n <= limit { return true }
            c?.report(keyword, at: node, "string is longer than \(limit) characters (it has \(n))")
            return false

        case .pattern(let pattern):
            guard case .string(let s) = value, !pattern.matches(s, budget) else { return true }
            c?.report(keyword, at: node, "\(Self.show(value)) does not match the pattern /\(pattern.source)/")
            return false

        case .minItems(let limit):
            guard case .array(let a) = value, a.count < limit else { return true }
            c?.report(keyword, at: node, "array has \(a.count) items, fewer than the minimum \(limit)")
            return false

        case .maxItems(let limit):
            guard case .array(let a) = value, a.count > limit else { return true }
            c?.report(keyword, at: node, "array has \(a.count) items, more than the maximum \(limit)")
            return false

        case .uniqueItems:
            guard case .array(let a) = value, let (i, j) = Self.firstDuplicate(a) else { return true }
            c?.report(keyword, at: node, "items \(i) and \(j) are equal, but items must be unique")
            return false

        case .items(let prefix, let rest, let restIsFalse):
            guard case .array(let a) = value else { return true }
            var valid = true
            for (i, element) in a.enumerated() {
                let sub: Int
                if i < prefix.count {
                    sub = prefix[i]
                } else if let rest {
                    if restIsFalse {
                        c?.report(
                            "items", at: node, "array has \(a.count) items, but at most \(prefix.count) are allowed",
                            extra: String(i))
                        return false
                    }
                    sub = rest
                } else {
                    break
                }
                if !child(sub, element, String(i), c, budget) {
                    if c == nil { return false }
                    valid = false
                }
            }
            return valid

        case .contains(let sub, let minimum, let maximum):
            guard case .array(let a) = value else { return true }
            var matches = 0
            for element in a where evaluate(sub, element, nil, budget) {
                matches += 1
                if maximum == nil && matches >= minimum { return true }
            }
            if matches < minimum {
                let detail =
                    minimum == 1
                    ? "array does not contain an item matching the contains schema"
                    : "array contains \(matches) items matching the contains schema, fewer than minContains \(minimum)"
                c?.report(minimum == 1 ? "contains" : "minContains", at: node, detail)
                return false
            }
            if let maximum, matches > maximum {
                c?.report(
                    "maxContains", at: node,
                    "array contains \(matches) items matching the contains schema, more than maxContains \(maximum)")
                return false
            }
            return true

        case .minProperties(let limit):
            guard case .object(let o) = value, o.count < limit else { return true }
            c?.report(keyword, at: node, "object has \(o.count) properties, fewer than the minimum \(limit)")
            return false

        case .maxProperties(let limit):
            guard case .object(let o) = value, o.count > limit else { return true }
            c?.report(keyword, at: node, "object has \(o.count) properties, more than the maximum \(limit)")
            return false

        case .required(let names):
            guard case .object(let o) = value else { return true }
            var valid = true
            for name in names where !o.contains(name) {
                guard let c else { return false }
                c.report(keyword, at: node, "missing required property '\(name)'")
                valid = false
            }
            return valid

        case .properties(let applicator):
            guard case .object(let o) = value else { return true }
            var valid = true
            for entry in o.entries {
                let key = entry.key
                let member = entry.value
                var matched = false
                if let sub = applicator.property(key) {
                    matched = true
                    if !child(sub, member, key, c, budget) {
                        if c == nil { return false }
                        valid = false
                    }
                }
                for entry in applicator.patterns where entry.pattern.matches(key, budget) {
                    let sub = entry.node
                    matched = true
                    if !child(sub, member, key, c, budget) {
                        if c == nil { return false }
                        valid = false
                    }
                }
                if !matched, let additional = applicator.additional {
                    if applicator.additionalIsFalse {
                        c?.report(
                            "additionalProperties", at: node, "additional property '\(key)' is not allowed", extra: key)
                        if c == nil { return false }
                        valid = false
                    } else if !child(additional, member, key, c, budget) {
                        if c == nil { return false }
                        valid = false
                    }
                }
            }
            return valid

        case .propertyNames(let sub):
            guard case .object(let o) = value else { return true }
            var valid = true
            for key in o.keys where !evaluate(sub, .string(key), nil, budget) {
                guard let c else { return false }
                c.report(keyword, at: node, "property name '\(key)' does not match the propertyNames schema")
                valid = false
            }
            return valid

        case .dependentRequired(let list):
            guard case .object(let o) = value else { return true }
            var valid = true
            for entry in list where o.contains(entry.key) {
                let key = entry.key
                for name in entry.names where !o.contains(name) {
                    guard let c else { return false }
                    c.report(keyword, at: node, "property '\(key)' requires property '\(name)'")
                    valid = false
                }
            }
            return valid

        case .dependentSchemas(let list):
            guard case .object(let o) = value else { return true }
            var valid = true
            for entry in list where o.contains(entry.key) && !evaluate(entry.node, value, c, budget) {
                if c == nil { return false }
                valid = false
            }
            return valid

        case .allOf(let list):
            var valid = true
            for sub in list where !evaluate(sub, value, c, budget) {
                if c == nil { return false }
                valid = false
            }
            return valid

        case .anyOf(let list):
            for sub in list where evaluate(sub, value, nil, budget) { return true }
            c?.report(keyword, at: node, "value does not match any of the \(list.count) schemas in anyOf")
            return false

        case .oneOf(let list):
            var matching: [Int] = []
            for (i, sub) in list.enumerated() where evaluate(sub, value, nil, budget) {
                matching.append(i)
                if matching.count > 1 && c == nil { return false }
            }
            if matching.count == 1 { return true }
            if matching.isEmpty {
                c?.report(keyword, at: node, "value does not match any of the \(list.count) schemas in oneOf")
            } else {
                let which = matching.map(String.init).joined(separator: ", ")
                c?.report(keyword, at: node, "value matches schemas \(which) in oneOf, but must match exactly one")
            }
            return false

        case .not(let sub):
            if !evaluate(sub, value, nil, budget) { return true }
            c?.report(keyword, at: node, "value must not match the schema in not")
            return false

        case .conditional(let condition, let thenNode, let elseNode):
            if evaluate(condition, value, nil, budget) {
                guard let thenNode else { return true }
                return evaluate(thenNode, value, c, budget)
            } else {
                guard let elseNode else { return true }
                return evaluate(elseNode, value, c, budget)
            }

        case .ref(let target):
            return evaluate(target, value, c, budget)
        }
    }

    /// The first pair of equal items, or `nil` when all are distinct.
    static func firstDuplicate(_ a: [JSONValue]) -> (Int, Int)? {
        if a.count < 2 { return nil }
        if a.count <= 16 {
            for i in 0..<a.count {
                for j in (i + 1)..<a.count where a[i] == a[j] { return (i, j) }
            }
            return nil
        }
        var seen: [JSONValue: Int] = [:]
        seen.reserveCapacity(a.count)
        for (j, item) in a.enumerated() {
            if let i = seen.updateValue(j, forKey: item) { return (i, j) }
        }
        return nil
    }

    /// A short rendering of a value for messages.
    static func show(_ value: JSONValue) -> String {
        let text = value.serializedString
        if text.unicodeScalars.count <= 80 { return text }
        return String(text.unicodeScalars.prefix(77)) + "..."
    }
}
