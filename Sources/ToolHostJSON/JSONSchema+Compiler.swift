/// Turns a schema document into a ``SchemaProgram``: one node per schema location, `$ref`s resolved to node
/// indices, patterns compiled.
struct SchemaCompiler {
    let root: JSONValue
    let configuration: JSONSchema.Configuration
    var rootID: String?
    var nodes: [SchemaNode] = []
    var nodeByPath: [String: Int] = [:]
    var pendingRefs: [(node: Int, check: Int, ref: String, path: JSONPointer)] = []
    var anchors: [String: JSONPointer] = [:]

    init(root: JSONValue, configuration: JSONSchema.Configuration) {
        self.root = root
        self.configuration = configuration
    }

    mutating func compileProgram() throws(JSONSchemaError) -> SchemaProgram {
        let rootIndex = try compile(root, at: JSONPointer())
        // Resolving a reference may compile a location no keyword reached yet, which may hold more references.
        while let pending = pendingRefs.popLast() {
            let target = try resolve(pending.ref, at: pending.path)
            guard let value = target.resolve(in: root) else {
                throw JSONSchemaError(
                    code: .unresolvableReference, keyword: "$ref", schemaPath: pending.path,
                    message: "$ref '\(pending.ref)' at schema path '\(pending.path)' points to nothing in the schema")
            }
            let index = try compile(value, at: target)
            nodes[pending.node].checks[pending.check].check = .ref(index)
        }
        try checkForInfiniteRecursion()
        return SchemaProgram(nodes: nodes, root: rootIndex)
    }

    // MARK: Errors

    func invalid(_ keyword: String, _ path: JSONPointer, _ expected: String) -> JSONSchemaError {
        let location = path.appending(keyword)
        return JSONSchemaError(
            code: .invalidKeywordValue, keyword: keyword, schemaPath: location,
            message: "invalid value for '\(keyword)' at schema path '\(location)': \(expected)")
    }

    // MARK: Nodes

    mutating func compile(_ schema: JSONValue, at path: JSONPointer) throws(JSONSchemaError) -> Int {
        let key = path.description
        if let existing = nodeByPath[key] { return existing }
        let index = nodes.count
        nodes.append(SchemaNode(path: path, checks: []))
        nodeByPath[key] = index
        switch schema {
        case .bool(true):
            break
        case .bool(false):
            nodes[index].checks = [SchemaKeywordCheck(check: .never, keyword: "false")]
        case .object(let object):
            let checks = try compileObject(object, at: path, node: index)
            nodes[index].checks = checks
        default:
            throw JSONSchemaError(
                code: .invalidSchema, keyword: nil, schemaPath: path,
                message: "schema at path '\(path)' must be an object or a boolean, found \(schema.typeName)")
        }
        return index
    }

    mutating func compileSchemaArray(_ value: JSONValue, _ keyword: String, _ path: JSONPointer)
        throws(JSONSchemaError) -> [Int]
    {
        guard case .array(let items) = value, !items.isEmpty else {
            throw invalid(keyword, path, "expected a non-empty array of schemas")
        }
        var result: [Int] = []
        for (i, item) in items.enumerated() {
            result.append(try compile(item, at: path.appending(keyword).appending(i)))
        }
        return result
    }

    mutating func compileSchemaMap(_ value: JSONValue, _ keyword: String, _ path: JSONPointer)
        throws(JSONSchemaError) -> [KeyedNode]
    {
        guard case .object(let members) = value else { throw invalid(keyword, path, "expected an object of schemas") }
        var result: [KeyedNode] = []
        for (key, sub) in members {
            result.append(KeyedNode(key: key, node: try compile(sub, at: path.appending(keyword).appending(key))))
        }
        return result
    }

    func nonNegativeInteger(_ value: JSONValue, _ keyword: String, _ path: JSONPointer) throws(JSONSchemaError) -> Int {
        guard let i = value.intValue, i >= 0 else { throw invalid(keyword, path, "expected a non-negative integer") }
        return Int(clamping: i)
    }

    func compilePattern(_ source: String, _ keyword: String, _ path: JSONPointer) throws(JSONSchemaError)
        -> SchemaPattern
    {
        do {
            return SchemaPattern(source: source, regex: try SchemaRegex(source))
        } catch {
            let location = path.appending(keyword)
            let what =
                switch error.kind {
                case .invalid: "invalid regular expression /\(source)/"
                case .unsupported: "regular expression /\(source)/ refused"
                }
            throw JSONSchemaError(
                code: .invalidPattern, keyword: keyword, schemaPath: location,
                message: "\(what) in '\(keyword)' at schema path '\(location)': at offset \(error.offset): "
                    + error.reason)
        }
    }

    // MARK: Keywords

    mutating func compileObject(_ object: JSONObject, at path: JSONPointer, node: Int) throws(JSONSchemaError)
        -> [SchemaKeywordCheck]
    {
        // Refuse anything not understood before looking at anything else.
        for key in object.keys where !JSONSchema.supportedKeywords.contains(key) {
            if configuration.ignoredKeywords.contains(key) && JSONSchema.knownUnsupported[key] == nil { continue }
            let location = path.appending(key)
            let advice = JSONSchema.knownUnsupported[key].map { " (\($0))" } ?? ""
            let kind = JSONSchema.knownUnsupported[key] != nil ? "keyword" : "unknown keyword"
            throw JSONSchemaError(
                code: .unsupportedKeyword, keyword: key, schemaPath: location,
                message: "\(kind) '\(key)' at schema path '\(location)' is not supported by toolhost\(advice); "
                    + "toolhost refuses schemas it does not fully understand")
        }
        var checks: [SchemaKeywordCheck] = []
        func add(_ check: SchemaCheck, _ keyword: String) {
            checks.append(SchemaKeywordCheck(check: check, keyword: keyword))
        }

        // Core and annotations.
        if let value = object["$schema"] {
            guard case .string(let uri) = value else { throw invalid("$schema", path, "expected a URI string") }
            guard uri == JSONSchema.dialect || uri == JSONSchema.dialect + "#" else {
                let location = path.appending("$schema")
                throw JSONSchemaError(
                    code: .unsupportedDialect, keyword: "$schema", schemaPath: location,
                    message: "$schema '\(uri)' at schema path '\(location)' is not supported by toolhost; "
                        + "only draft 2020-12 ('\(JSONSchema.dialect)') is")
            }
        }
        if let value = object["$id"] {
            guard case .string(let id) = value else { throw invalid("$id", path, "expected a URI string") }
            let location = path.appending("$id")
            guard path.isRoot else {
                throw JSONSchemaError(
                    code: .unsupportedIdentifier, keyword: "$id", schemaPath: location,
                    message: "$id '\(id)' at schema path '\(location)' is not supported by toolhost: embedded "
                        + "schema resources are not supported, only an $id on the root schema")
            }
            var base = id
            if base.hasSuffix("#") { base.removeLast() }
            guard !base.contains("#"), !base.isEmpty else {
                throw invalid("$id", path, "expected a URI without a fragment")
            }
            rootID = base
        }
        if let value = object["$anchor"] {
            guard case .string(let name) = value, Self.isValidAnchor(name) else {
                throw invalid("$anchor", path, "expected a name matching ^[A-Za-z_][-A-Za-z0-9._]*$")
            }
            guard anchors[name] == nil else { throw invalid("$anchor", path, "anchor '\(name)' is defined twice") }
            anchors[name] = path
        }
        for keyword in ["$comment", "title", "description", "format", "contentMediaType", "contentEncoding"] {
            if let value = object[keyword], value.stringValue == nil {
                throw invalid(keyword, path, "expected a string")
            }
        }
        for keyword in ["deprecated", "readOnly", "writeOnly"] {
            if let value = object[keyword], value.boolValue == nil {
                throw invalid(keyword, path, "expected a boolean")
            }
        }
        if let value = object["examples"], value.arrayValue == nil {
            throw invalid("examples", path, "expected an array")
        }
        if let value = object["contentSchema"] {
            // An annotation, never applied, but still required to be a schema toolhost understands.
            _ = try compile(value, at: path.appending("contentSchema"))
        }
        if let value = object["$defs"] {
            _ = try compileSchemaMap(value, "$defs", path)
        }

        // Cheap type checks first.
        if let value = object["type"] { add(try compileType(value, path), "type") }
        if let value = object["const"] { add(.constant(value), "const") }
        if let value = object["enum"] {
            guard case .array(let values) = value else { throw invalid("enum", path, "expected an array") }
            add(.enumeration(values), "enum")
        }

        // Numbers.
        for (keyword, kind) in [
            ("minimum", BoundKind.minimum), ("maximum", .maximum), ("exclusiveMinimum", .exclusiveMinimum),
            ("exclusiveMaximum", .exclusiveMaximum),
        ] {
            if let value = object[keyword] {
                guard value.isNumber else { throw invalid(keyword, path, "expected a number") }
                add(.bound(value, kind), keyword)
            }
        }
        if let value = object["multipleOf"] {
            guard value.isNumber, let d = value.doubleValue, d > 0 else {
                throw invalid("multipleOf", path, "expected a number greater than 0")
            }
            add(.multipleOf(value), "multipleOf")
        }

        // Strings.
        if let value = object["minLength"] {
            add(.minLength(try nonNegativeInteger(value, "minLength", path)), "minLength")
        }
        if let value = object["maxLength"] {
            add(.maxLength(try nonNegativeInteger(value, "maxLength", path)), "maxLength")
        }
        if let value = object["pattern"] {
            guard case .string(let source) = value else { throw invalid("pattern", path, "expected a string") }
            add(.pattern(try compilePattern(source, "pattern", path)), "pattern")
        }

        // Arrays.
        if let value = object["minItems"] {
            add(.minItems(try nonNegativeInteger(value, "minItems", path)), "minItems")
        }
        if let value = object["maxItems"] {
            add(.maxItems(try nonNegativeInteger(value, "maxItems", path)), "maxItems")
        }
        if let value = object["uniqueItems"] {
            guard case .bool(let unique) = value else { throw invalid("uniqueItems", path, "expected a boolean") }
            if unique { add(.uniqueItems, "uniqueItems") }
        }
        let prefix = try object["prefixItems"].map { v throws(JSONSchemaError) in
            try compileSchemaArray(v, "prefixItems", path)
        }
        let rest = try object["items"].map { v throws(JSONSchemaError) in
            guard v.arrayValue == nil else {
                throw invalid(
                    "items", path, "expected a schema (the array form of 'items' is 'prefixItems' in 2020-12)")
            }
            return try compile(v, at: path.appending("items"))
        }
        if prefix != nil || rest != nil {
            add(
                .items(prefix: prefix ?? [], rest: rest, restIsFalse: object["items"] == .bool(false)),
                prefix != nil ? "prefixItems" : "items")
        }
        let minContains = try object["minContains"].map { v throws(JSONSchemaError) in
            try nonNegativeInteger(v, "minContains", path)
        }
        let maxContains = try object["maxContains"].map { v throws(JSONSchemaError) in
            try nonNegativeInteger(v, "maxContains", path)
        }
        if let value = object["contains"] {
            let sub = try compile(value, at: path.appending("contains"))
            add(.contains(sub, min: minContains ?? 1, max: maxContains), "contains")
        }

        // Objects.
        if let value = object["minProperties"] {
            add(.minProperties(try nonNegativeInteger(value, "minProperties", path)), "minProperties")
        }
        if let value = object["maxProperties"] {
            add(.maxProperties(try nonNegativeInteger(value, "maxProperties", path)), "maxProperties")
        }
        if let value = object["required"] { add(.required(try stringSet(value, "required", path)), "required") }
        var applicator = ObjectApplicator()
        var hasApplicator = false
        if let value = object["properties"] {
            applicator.properties = try compileSchemaMap(value, "properties", path)
            if applicator.properties.count > JSONObject.indexThreshold {
                var index: [JSONObject.HashKey: Int] = [:]
                for p in applicator.properties { index[JSONObject.HashKey(p.key)] = p.node }
                applicator.propertyIndex = index
            }
            hasApplicator = true
        }
        if let value = object["patternProperties"] {
            guard case .object(let members) = value else {
                throw invalid("patternProperties", path, "expected an object of schemas")
            }
            for (source, sub) in members {
                let pattern = try compilePattern(source, "patternProperties", path)
                let sub = try compile(sub, at: path.appending("patternProperties").appending(source))
                applicator.patterns.append(PatternNode(pattern: pattern, node: sub))
            }
            hasApplicator = true
        }
        if let value = object["additionalProperties"] {
            applicator.additional = try compile(value, at: path.appending("additionalProperties"))
            applicator.additionalIsFalse = value == .bool(false)
            hasApplicator = true
        }
        if hasApplicator {
            add(
                .properties(applicator),
                object["properties"] != nil
                    ? "properties" : (object["patternProperties"] != nil ? "patternProperties" : "additionalProperties")
            )
        }
        if let value = object["propertyNames"] {
            add(.propertyNames(try compile(value, at: path.appending("propertyNames"))), "propertyNames")
        }
        if let value = object["dependentRequired"] {
            guard case .object(let members) = value else {
                throw invalid("dependentRequired", path, "expected an object of string arrays")
            }
            var list: [KeyedNames] = []
            for (key, names) in members {
                list.append(KeyedNames(key: key, names: try stringSet(names, "dependentRequired", path, member: key)))
            }
            add(.dependentRequired(list), "dependentRequired")
        }
        if let value = object["dependentSchemas"] {
            add(.dependentSchemas(try compileSchemaMap(value, "dependentSchemas", path)), "dependentSchemas")
        }

        // Combinators.
        if let value = object["allOf"] { add(.allOf(try compileSchemaArray(value, "allOf", path)), "allOf") }
        if let value = object["anyOf"] { add(.anyOf(try compileSchemaArray(value, "anyOf", path)), "anyOf") }
        if let value = object["oneOf"] { add(.oneOf(try compileSchemaArray(value, "oneOf", path)), "oneOf") }
        if let value = object["not"] { add(.not(try compile(value, at: path.appending("not"))), "not") }
        let thenNode = try object["then"].map { v throws(JSONSchemaError) in try compile(v, at: path.appending("then"))
        }
        let elseNode = try object["else"].map { v throws(JSONSchemaError) in try compile(v, at: path.appending("else"))
        }
        if let value = object["if"] {
            let ifNode = try compile(value, at: path.appending("if"))
            if thenNode != nil || elseNode != nil {
                add(.conditional(if: ifNode, then: thenNode, else: elseNode), "if")
            }
        }

        if let value = object["$ref"] {
            guard case .string(let ref) = value else { throw invalid("$ref", path, "expected a URI-reference string") }
            pendingRefs.append((node, checks.count, ref, path.appending("$ref")))
            add(.ref(-1), "$ref")
        }
        return checks
    }

    func compileType(_ value: JSONValue, _ path: JSONPointer) throws(JSONSchemaError) -> SchemaCheck {
        let names: [String]
        switch value {
        case .string(let name): names = [name]
        case .array(let items) where !items.isEmpty:
            var list: [String] = []
            for item in items {
                guard let name = item.stringValue else { throw invalid("type", path, "expected type names") }
                guard !list.contains(name) else { throw invalid("type", path, "type '\(name)' is listed twice") }
                list.append(name)
            }
            names = list
        default:
            throw invalid("type", path, "expected a type name or a non-empty array of type names")
        }
        var mask: TypeMask = []
        for name in names {
            switch name {
            case "null": mask.insert(.null)
            case "boolean": mask.insert(.boolean)
            case "integer": mask.insert(.integer)
            case "number": mask.formUnion([.integer, .fraction])
            case "string": mask.insert(.string)
            case "array": mask.insert(.array)
            case "object": mask.insert(.object)
            default:
                throw invalid(
                    "type", path,
                    "unknown type '\(name)' (expected null, boolean, integer, number, string, array or object)")
            }
        }
        return .type(mask, names: names)
    }

    func stringSet(_ value: JSONValue, _ keyword: String, _ path: JSONPointer, member: String? = nil)
        throws(JSONSchemaError) -> [String]
    {
        let what = member.map { "member '\($0)': " } ?? ""
        guard case .array(let items) = value else {
            throw invalid(keyword, path, what + "expected an array of strings")
        }
        var result: [String] = []
        for item in items {
            guard let s = item.stringValue else { throw invalid(keyword, path, what + "expected an array of strings") }
            guard !result.contains(where: { JSONText.equal($0, s) }) else {
                throw invalid(keyword, path, what + "'\(s)' is listed twice")
            }
            result.append(s)
        }
        return result
    }

    static func isValidAnchor(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard let first = u.first else { return false }
        func letter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
        guard letter(first) || first == UInt8(ascii: "_") else { return false }
        return u.dropFirst().allSatisfy {
            letter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    // MARK: References

    /// The location in the root document a `$ref` points to.
    func resolve(_ ref: String, at path: JSONPointer) throws(JSONSchemaError) -> JSONPointer {
        let base: Substring
        let fragment: Substring?
        if let hash = ref.firstIndex(of: "#") {
            base = ref[..<hash]
            fragment = ref[ref.index(after: hash)...]
        } else {
            base = Substring(ref)
            fragment = nil
        }
        if !base.isEmpty && String(base) != rootID {
            throw JSONSchemaError(
                code: .unsupportedReference, keyword: "$ref", schemaPath: path,
                message: "$ref '\(ref)' at schema path '\(path)' is not supported by toolhost: only references "
                    + "within the same schema ('#', '#/$defs/name', '#anchor') are resolved, never other documents")
        }
        guard let fragment, !fragment.isEmpty else { return JSONPointer() }
        guard let decoded = Self.percentDecode(fragment) else {
            throw JSONSchemaError(
                code: .unresolvableReference, keyword: "$ref", schemaPath: path,
                message: "$ref '\(ref)' at schema path '\(path)' has malformed percent-encoding")
        }
        if decoded.hasPrefix("/") {
            guard let pointer = JSONPointer(decoded) else {
                throw JSONSchemaError(
                    code: .unresolvableReference, keyword: "$ref", schemaPath: path,
                    message: "$ref '\(ref)' at schema path '\(path)' is not a valid JSON pointer")
            }
            return pointer
        }
        guard let target = anchors[decoded] else {
            throw JSONSchemaError(
                code: .unresolvableReference, keyword: "$ref", schemaPath: path,
                message: "$ref '\(ref)' at schema path '\(path)' names no $anchor in the schema")
        }
        return target
    }

    static func percentDecode(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var u = text.utf8[...]
        while let c = u.popFirst() {
            if c == UInt8(ascii: "%") {
                guard let h = u.popFirst(), let l = u.popFirst(), let hv = hexValue(h), let lv = hexValue(l) else {
                    return nil
                }
                bytes.append(hv << 4 | lv)
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    // MARK: Termination

    /// Refuses schemas whose in-place applicators (`$ref`, `allOf`, `not`, …) form a cycle: evaluating them would
    /// apply the same schema to the same value forever.
    func checkForInfiniteRecursion() throws(JSONSchemaError) {
        var state = [UInt8](repeating: 0, count: nodes.count)  // 0 new, 1 on stack, 2 done
        for start in nodes.indices where state[start] == 0 {
            var stack: [(node: Int, edges: [Int], next: Int)] = [(start, inPlaceEdges(start), 0)]
            state[start] = 1
            while !stack.isEmpty {
                let top = stack.count - 1
                if stack[top].next == stack[top].edges.count {
                    state[stack[top].node] = 2
                    stack.removeLast()
                    continue
                }
                let target = stack[top].edges[stack[top].next]
                stack[top].next += 1
                if state[target] == 1 {
                    let location = nodes[target].path
                    throw JSONSchemaError(
                        code: .infiniteRecursion, keyword: "$ref", schemaPath: location,
                        message: "the schema at path '\(location)' applies itself to the same value through "
                            + "$ref/allOf/anyOf/oneOf/not/if without descending into the value, which never ends")
                }
                if state[target] == 0 {
                    state[target] = 1
                    stack.append((target, inPlaceEdges(target), 0))
                }
            }
        }
    }

    func inPlaceEdges(_ node: Int) -> [Int] {
        var edges: [Int] = []
        for check in nodes[node].checks {
            switch check.check {
            case .ref(let target): edges.append(target)
            case .allOf(let list), .anyOf(let list), .oneOf(let list): edges.append(contentsOf: list)
            case .not(let target): edges.append(target)
            case .conditional(let i, let t, let e):
                edges.append(i)
                if let t { edges.append(t) }
                if let e { edges.append(e) }
            case .dependentSchemas(let list): edges.append(contentsOf: list.map(\.node))
            default: break
            }
        }
        return edges
    }
}
