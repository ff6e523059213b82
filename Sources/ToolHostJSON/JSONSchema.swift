/// A compiled JSON Schema (draft 2020-12) validator.
///
/// Compile once with ``init(_:configuration:)`` and validate many instances; compilation resolves every
/// `$ref`, compiles every `pattern` and refuses any keyword it does not implement, so a schema is never
/// half-understood. See ``supportedKeywords`` for what is implemented.
///
/// ```swift
/// let schema = try JSONSchema(["type": "object", "properties": ["age": ["maximum": 150]]])
/// schema.validate(["age": 300]).first?.message  // "/age: 300 is greater than the maximum 150"
/// ```
public struct JSONSchema: Sendable {
    /// Options for compiling schemas.
    public struct Configuration: Sendable {
        /// Extra keywords to accept and ignore, in addition to ``JSONSchema/annotationKeywords`` (e.g. vendor
        /// extensions such as `"x-display-name"`). Keywords that toolhost knows it does not support stay refused.
        public var ignoredKeywords: Set<String>

        /// Creates a configuration.
        /// - Parameter ignoredKeywords: extra annotation keywords to accept and ignore.
        public init(ignoredKeywords: Set<String> = []) {
            self.ignoredKeywords = ignoredKeywords
        }
    }

    /// The dialect URI accepted in `$schema`.
    public static let dialect = "https://json-schema.org/draft/2020-12/schema"

    /// Keywords that are validated or that structure the schema (`$ref`, `$defs`, …).
    public static let assertionKeywords: Set<String> = [
        "$schema", "$id", "$anchor", "$ref", "$defs",
        "type", "enum", "const",
        "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
        "maxLength", "minLength", "pattern",
        "prefixItems", "items", "contains", "minContains", "maxContains", "maxItems", "minItems", "uniqueItems",
        "properties", "patternProperties", "additionalProperties", "propertyNames",
        "required", "dependentRequired", "dependentSchemas", "maxProperties", "minProperties",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    ]

    /// Keywords accepted and ignored, as 2020-12 specifies for annotations (`format` is an annotation by default).
    /// Their values are still checked for the right JSON type. To accept more, extend this list or pass
    /// ``Configuration/ignoredKeywords``.
    public static let annotationKeywords: Set<String> = [
        "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
        "format", "contentMediaType", "contentEncoding", "contentSchema",
    ]

    /// Every keyword toolhost accepts. Anything else makes ``init(_:configuration:)`` throw.
    public static let supportedKeywords: Set<String> = assertionKeywords.union(annotationKeywords)

    /// Keywords of draft 2020-12 (and earlier drafts) that toolhost knows it does not implement, with advice.
    static let knownUnsupported: [String: String] = [
        "unevaluatedProperties": "use additionalProperties instead where possible",
        "unevaluatedItems": "use items instead where possible",
        "$dynamicRef": "use $ref to a local definition instead",
        "$dynamicAnchor": "use $anchor or $defs with $ref instead",
        "$vocabulary": "custom meta-schemas are not supported",
        "$recursiveRef": "this is a draft 2019-09 keyword; use $ref",
        "$recursiveAnchor": "this is a draft 2019-09 keyword",
        "definitions": "this is a pre-2020 keyword; rename it to $defs",
        "dependencies": "this is a pre-2020 keyword; use dependentRequired or dependentSchemas",
        "additionalItems": "this is a pre-2020 keyword; use prefixItems with items",
    ]

    /// The schema as given.
    public let source: JSONValue
    let program: SchemaProgram
    /// How much pattern matching one ``validate(_:)`` or ``isValid(_:)`` may do (see ``MatchBudget``).
    var matchSteps = MatchBudget.defaultSteps

    /// Compiles a schema.
    /// - Parameters:
    ///   - schema: the schema document (an object or a Boolean).
    ///   - configuration: compile options.
    /// - Throws: ``JSONSchemaError`` naming the keyword and schema path when a keyword is unsupported or unknown,
    ///   a keyword value is malformed, a pattern does not compile or a `$ref` cannot be resolved.
    public init(_ schema: JSONValue, configuration: Configuration = Configuration()) throws(JSONSchemaError) {
        var compiler = SchemaCompiler(root: schema, configuration: configuration)
        program = try compiler.compileProgram()
        source = schema
    }

    /// Validates an instance.
    /// - Parameter instance: the value to check.
    /// - Returns: every violation found (empty when the instance is valid).
    public func validate(_ instance: JSONValue) -> [JSONSchemaViolation] {
        let budget = MatchBudget(steps: matchSteps)
        let valid = program.evaluate(program.root, instance, nil, budget)
        if let refusal = budget.refusal { return [refusal] }
        if valid { return [] }
        let collector = ViolationCollector()
        let second = MatchBudget(steps: matchSteps)
        _ = program.evaluate(program.root, instance, collector, second)
        if let refusal = second.refusal { return [refusal] }
        return collector.violations
    }

    /// Whether an instance is valid; stops at the first failure and allocates nothing for most schemas.
    /// - Parameter instance: the value to check.
    /// - Returns: `true` when ``validate(_:)`` would return no violations.
    public func isValid(_ instance: JSONValue) -> Bool {
        let budget = MatchBudget(steps: matchSteps)
        return program.evaluate(program.root, instance, nil, budget) && budget.refusal == nil
    }
}

// MARK: - Compiled form

/// A compiled regular expression with its source text, matched in linear time (see ``SchemaRegex``).
struct SchemaPattern: Sendable {
    let source: String
    let regex: SchemaRegex

    /// Whether `s` matches; `false` once `budget` is spent (the whole validation then fails, see ``MatchBudget``).
    func matches(_ s: String, _ budget: MatchBudget) -> Bool {
        guard budget.refusal == nil else { return false }
        if let matched = regex.matches(s, budget: &budget.remaining) { return matched }
        budget.spent(on: self)
        return false
    }
}

/// The pattern-matching work one validation may do, shared by every pattern it checks.
///
/// Matching is linear, O(instructions × characters), but a large pattern over a large argument can still take
/// seconds; validation runs before the call's deadline starts, so it is bounded here instead. A step is one live
/// matcher state at one character. Running out is sticky and fails the whole validation (never just the one
/// check, which `not` would turn into a pass).
final class MatchBudget {
    /// 0.5 to 0.7 s of matching in a release build (measured on 1 MiB arguments); `validate(_:)` of an invalid
    /// instance makes two passes, each with its own budget.
    static let defaultSteps = 100_000_000

    let steps: Int
    var remaining: Int
    private(set) var refusal: JSONSchemaViolation?

    init(steps: Int) {
        self.steps = steps
        remaining = steps
    }

    func spent(on pattern: SchemaPattern) {
        guard refusal == nil else { return }
        refusal = JSONSchemaViolation(
            instancePath: JSONPointer(), keyword: "pattern", schemaPath: JSONPointer(),
            message: "(root): the arguments were not fully validated: matching their strings against the pattern "
                + "/\(pattern.source)/ and the schema's other patterns needs more than \(steps) steps; send "
                + "shorter strings, or ask the tool's author for a simpler pattern")
    }
}

struct TypeMask: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeMask(rawValue: 1)
    static let boolean = TypeMask(rawValue: 2)
    static let integer = TypeMask(rawValue: 4)
    static let fraction = TypeMask(rawValue: 8)  // a number that is not an integer
    static let string = TypeMask(rawValue: 16)
    static let array = TypeMask(rawValue: 32)
    static let object = TypeMask(rawValue: 64)

    static func of(_ v: JSONValue) -> TypeMask {
        switch v {
        case .null: return .null
        case .bool: return .boolean
        case .int: return .integer
        case .double(let d): return d.isFinite && d.rounded(.towardZero) == d ? .integer : .fraction
        case .string: return .string
        case .array: return .array
        case .object: return .object
        }
    }
}

struct KeyedNode: Sendable {
    let key: String
    let node: Int
}

struct KeyedNames: Sendable {
    let key: String
    let names: [String]
}

struct PatternNode: Sendable {
    let pattern: SchemaPattern
    let node: Int
}

struct ObjectApplicator: Sendable {
    var properties: [KeyedNode] = []
    var propertyIndex: [JSONObject.HashKey: Int]? = nil
    var patterns: [PatternNode] = []
    var additional: Int? = nil
    var additionalIsFalse = false

    func property(_ key: String) -> Int? {
        if let propertyIndex { return propertyIndex[JSONObject.HashKey(key)] }
        for p in properties where JSONText.equal(p.key, key) { return p.node }
        return nil
    }
}

enum BoundKind: Sendable {
    case minimum, maximum, exclusiveMinimum, exclusiveMaximum
}

indirect enum SchemaCheck: Sendable {
    case never
    case type(TypeMask, names: [String])
    case enumeration([JSONValue])
    case constant(JSONValue)
    case multipleOf(JSONValue)
    case bound(JSONValue, BoundKind)
    case minLength(Int)
    case maxLength(Int)
    case pattern(SchemaPattern)
    case minItems(Int)
    case maxItems(Int)
    case uniqueItems
    case items(prefix: [Int], rest: Int?, restIsFalse: Bool)
    case contains(Int, min: Int, max: Int?)
    case minProperties(Int)
    case maxProperties(Int)
    case required([String])
    case properties(ObjectApplicator)
    case propertyNames(Int)
    case dependentRequired([KeyedNames])
    case dependentSchemas([KeyedNode])
    case allOf([Int])
    case anyOf([Int])
    case oneOf([Int])
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
    case ref(Int)
}

struct SchemaKeywordCheck: Sendable {
    var check: SchemaCheck
    let keyword: String
}

struct SchemaNode: Sendable {
    let path: JSONPointer
    var checks: [SchemaKeywordCheck]
}

/// A node as evaluated: a class, so fetching it from the program costs one retain rather than a struct copy.
final class CompiledNode: Sendable {
    let path: JSONPointer
    let checks: [SchemaKeywordCheck]

    init(_ node: SchemaNode) {
        path = node.path
        checks = node.checks
    }
}

final class SchemaProgram: Sendable {
    let nodes: [CompiledNode]
    let root: Int

    init(nodes: [SchemaNode], root: Int) {
        self.nodes = nodes.map(CompiledNode.init)
        self.root = root
    }
}

/// Collects violations and tracks the instance path; only created once an instance is known to be invalid.
final class ViolationCollector {
    var violations: [JSONSchemaViolation] = []
    var path: [String] = []

    func report(_ keyword: String, at node: CompiledNode, _ detail: String, extra token: String? = nil) {
        var pointer = JSONPointer(tokens: path)
        if let token { pointer.append(token) }
        let shown = pointer.isRoot ? "(root)" : pointer.description
        // A `false` schema has no keyword of its own: its location is the schema itself.
        let schemaPath = keyword == "false" ? node.path : node.path.appending(keyword)
        violations.append(
            JSONSchemaViolation(
                instancePath: pointer, keyword: keyword, schemaPath: schemaPath, message: "\(shown): \(detail)"))
    }
}
