/// What an MCP tool result carries (the operator's `mcpResultContent`), so an agent's context does not pay for the
/// same result twice.
///
/// MCP 2025-06-18 (server/tools, "Structured Content") puts a JSON object result in `structuredContent` and says a
/// tool that does so SHOULD also return the serialized JSON in a text block, for clients that read only text; a
/// tool with an `outputSchema` MUST return structured content (toolhost's manifests declare none). `both` is that
/// recommendation and the default. A result that is not an object is always text: there is no other copy to send.
public enum MCPResultContent: String, Sendable, CaseIterable {
    /// Text always, and `structuredContent` for an object result: the spec's backward-compatible form.
    case both
    /// Text only: for clients that put the text in the model's context and ignore `structuredContent`.
    case text
    /// `structuredContent` only for an object result (the text block is left out); text for everything else.
    case structured
}
