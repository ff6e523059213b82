import ToolHost
import ToolHostJSON

/// Tasks as `POST /v1/tasks` and `toolhost distribute` read them: `{"id": "…", "requires": ["capability", …],
/// "arguments": {…}?, "priority": n?, "complexity": x?, "timeoutMs": n?}`, each number in the range of a call's.
extension DistributedTask {
    /// The fields of a task object.
    public static let wireFields = ["id", "requires", "arguments", "priority", "complexity", "timeoutMs"]

    /// Reads a task object.
    /// - Throws: `invalid_arguments` naming the field that is missing, unknown, of the wrong type or out of range.
    public init(wire value: JSONValue) throws(ToolError) {
        let object = try ToolCall.wireObject(value, fields: Self.wireFields, what: "task")
        guard let id = object["id"]?.stringValue, !id.isEmpty else {
            throw ToolError(.invalidArguments, "a task needs \"id\": a non-empty string, echoed in its outcome")
        }
        guard let list = object["requires"]?.arrayValue, !list.isEmpty,
            case let requires = list.compactMap(\.stringValue), requires.count == list.count
        else {
            throw ToolError(
                .invalidArguments,
                "task '\(id.prefix(40))' needs \"requires\": a non-empty array of capability names")
        }
        let arguments = object["arguments"] ?? [:]
        guard case .object = arguments else {
            throw ToolError(.invalidArguments, "\"arguments\" must be a JSON object, not \(arguments.typeName)")
        }
        self.init(
            id: id, requires: requires, arguments: arguments,
            priority: try object["priority"].map { raw throws(ToolError) in
                try ToolCall.priority(raw.intValue, field: "priority", given: raw.serializedString)
            },
            complexity: try object["complexity"].map { raw throws(ToolError) in
                try ToolCall.complexity(raw.doubleValue, field: "complexity", given: raw.serializedString)
            },
            timeout: try object["timeoutMs"].map { raw throws(ToolError) in
                try ToolCall.timeout(milliseconds: raw.intValue, field: "timeoutMs", given: raw.serializedString)
            })
    }

    /// Reads the tasks of `POST /v1/tasks` or a `toolhost distribute` file: a JSON array of task objects.
    /// - Throws: `invalid_arguments` naming the task (by index) and what is wrong with it.
    public static func list(wire value: JSONValue) throws(ToolError) -> [DistributedTask] {
        guard let items = value.arrayValue else {
            throw ToolError(
                .invalidArguments,
                "the tasks must be a JSON array of {\"id\", \"requires\", \"arguments\", \"priority\", "
                    + "\"complexity\", \"timeoutMs\"}, not \(value.typeName)")
        }
        var tasks: [DistributedTask] = []
        for (index, item) in items.enumerated() {
            do throws(ToolError) {
                tasks.append(try DistributedTask(wire: item))
            } catch {
                throw ToolError(.invalidArguments, "task \(index): \(error.message)")
            }
        }
        return tasks
    }
}

extension Distribution {
    /// `{"results": [{"id", "ok", "provider", "durationMs", "result" | "error", "failedOver"}], "utilisation":
    /// [{"provider", "calls", "errors", "errorRate", "meanMs", "p99Ms", "inFlight", "limit"}]}`, results in input
    /// order.
    public var wireJSON: JSONValue {
        let results: [JSONValue] = outcomes.map { outcome in
            var object: JSONObject = ["id": .string(outcome.id)]
            switch outcome.result {
            case .success(let result):
                object.set("ok", true)
                object.set("provider", .string(result.tool))
                object.set("result", result.json)
                object.set(
                    "failedOver",
                    .array(result.failedOver.map { ["provider": .string($0.provider), "error": $0.error.wireJSON] }))
            case .failure(let error):
                object.set("ok", false)
                object.set("error", error.wireJSON)
            }
            object.set(
                "durationMs",
                .double(
                    Double(outcome.duration.components.attoseconds) / 1e15
                        + Double(outcome.duration.components.seconds) * 1000))
            return .object(object)
        }
        let used: [JSONValue] = utilisation.map { provider in
            [
                "provider": .string(provider.provider), "calls": .int(Int64(provider.calls)),
                "errors": .int(Int64(provider.errors)), "errorRate": .double(provider.errorRate),
                "meanMs": .double(provider.meanMilliseconds), "p99Ms": .double(provider.p99Milliseconds),
                "inFlight": .int(Int64(provider.inFlight)), "limit": .int(Int64(provider.limit)),
            ]
        }
        return ["results": .array(results), "utilisation": .array(used)]
    }
}
