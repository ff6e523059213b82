import ToolHost
import ToolHostJSON

/// A result as a front end answers it: within its budget, or shaped to it with the whole kept for retrieval.
public struct BudgetedResult: Sendable {
    /// The answer's JSON bytes: the result itself, or `{"truncated": {note}, "result": shaped}`.
    public var output: [UInt8]
    /// The id the whole result is kept under (only when it was shaped and the store kept it).
    public var resultID: String?
    /// Whether the answer was shaped.
    public var isShaped: Bool
}

extension ToolResult {
    /// The budget that applies: the caller's, else the tool's default, else none.
    public func budget(asked: Int?) -> Int? { asked ?? defaultMaxResultBytes }

    /// The result within its budget, one rule for every front end (``JSONShaper``).
    ///
    /// A result no larger than the budget (or with none) is answered as it is. A larger one is shaped, and its
    /// whole bytes are kept in `store` for `owner`; the note carries `resultId`, how long it is kept
    /// (`keptSeconds`), and the front end's own fields for reading it (`retrieval(id)`). Without a store, or when the
    /// result is larger than the whole store, the note says `"kept": false`.
    /// - Parameters:
    ///   - asked: the caller's `maxResultBytes`, if any.
    ///   - store: where whole results are kept; nil: nowhere (the CLI).
    ///   - owner: who may read the kept result.
    ///   - retrieval: the note's fields that say how to read a kept result, given its id.
    public func budgeted(
        asked: Int?, store: ResultStore?, owner: String,
        retrieval: (String) -> [(String, JSONValue)] = { _ in [] }
    ) -> BudgetedResult {
        guard let budget = budget(asked: asked), output.count > budget else {
            return BudgetedResult(output: output, resultID: nil, isShaped: false)
        }
        let id = store?.keep(output, owner: owner)
        var fields: [(String, JSONValue)] = []
        if let id, let store {
            fields.append(("resultId", .string(id)))
            fields.append(("keptSeconds", .int(Int64(store.lifetime.components.seconds))))
            fields += retrieval(id)
        } else {
            fields.append(("kept", false))
        }
        // The output was checked to be JSON when the call returned it.
        guard let (bytes, _) = try? JSONShaper.shape(output, budget: budget, noteFields: fields) else {
            return BudgetedResult(output: output, resultID: nil, isShaped: false)
        }
        return BudgetedResult(output: bytes, resultID: id, isShaped: true)
    }
}
