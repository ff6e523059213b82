import Hummingbird
import NIOCore

/// Content codings over HTTP, for the REST API and `/mcp` alike.
///
/// - Answers: an `application/json` answer of a known length is sent gzip- or deflate-encoded when the request's
///   `Accept-Encoding` allows it and the answer is at least `threshold` bytes (``ContentCoding/negotiate(acceptEncoding:size:threshold:)``);
///   every JSON answer carries `Vary: Accept-Encoding`, compressed or not, so a cache keeps the two apart. Event
///   streams and other media types go as they are.
/// - Request bodies: `Content-Encoding: gzip` (or `x-gzip`, `deflate`, `identity`) is decoded before a route
///   reads the body, and the body limit applies to the decoded bytes: decoding stops one byte past `maxBodyBytes`
///   and the request is 413. Another coding is 415; data that is not what its header says is 400. Refusals have
///   the shape of the endpoint's other errors (`{"error": …}`, or a JSON-RPC error under `/mcp`).
///
/// Added after the browser guard and the token check, so nothing is decoded for a caller that may not call.
struct CompressionMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The smallest JSON answer that is compressed, in bytes.
    let threshold: Int
    /// The most bytes a request body may have, decoded or not.
    let maxBodyBytes: Int
    /// The MCP endpoint's path, whose refusals are JSON-RPC errors.
    let mcpPath: String

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var request = request
        if let header = request.headers[.contentEncoding] {
            switch await decoded(request, contentEncoding: header) {
            case .success(let decodedRequest): request = decodedRequest
            case .failure(let refusal): return refusal.response
            }
        }
        let response = try await next(request, context)
        return try await encoded(response, acceptEncoding: request.headers[values: .acceptEncoding])
    }

    // MARK: answers

    private func encoded(_ response: Response, acceptEncoding: [String]) async throws -> Response {
        guard let contentType = response.headers[.contentType], contentType.lowercased().hasPrefix("application/json"),
            response.headers[.contentEncoding] == nil, let length = response.body.contentLength
        else { return response }
        var response = response
        response.headers[.vary] = response.headers[.vary].map { $0 + ", Accept-Encoding" } ?? "Accept-Encoding"
        guard let coding = ContentCoding.negotiate(acceptEncoding: acceptEncoding, size: length, threshold: threshold)
        else { return response }
        let collector = CollectingWriter()
        try await response.body.write(collector.writer)
        let encoded = try coding.encode(collector.collected)
        response.headers[.contentEncoding] = coding.rawValue
        response.headers[.contentLength] = nil
        response.body = ResponseBody(byteBuffer: encoded)
        return response
    }

    // MARK: request bodies

    private func decoded(_ request: Request, contentEncoding header: String) async -> Result<Request, Refusal> {
        let coding: ContentCoding?
        do {
            coding = try ContentCoding.named(header)
        } catch {
            return .failure(refusal(request, .unsupportedMediaType, error.message))
        }
        var head = request.head
        head.headerFields[.contentEncoding] = nil
        head.headerFields[.contentLength] = nil
        guard let coding else { return .success(Request(head: head, body: request.body)) }
        var encoded = ByteBuffer()
        do {
            for try await buffer in request.body {
                // No coding shrinks data to nothing: a body over the limit before decoding is over it after.
                if encoded.readableBytes + buffer.readableBytes > maxBodyBytes {
                    return .failure(
                        refusal(
                            request, .contentTooLarge, "the body is over \(maxBodyBytes) bytes (\(coding.rawValue))"))
                }
                var buffer = buffer
                encoded.writeBuffer(&buffer)
            }
        } catch {
            return .failure(refusal(request, .badRequest, "reading the body failed: \(error)"))
        }
        do {
            let body = try coding.decode(encoded, limit: maxBodyBytes)
            return .success(Request(head: head, body: RequestBody(buffer: body)))
        } catch let error {
            if case .tooLarge = error { return .failure(refusal(request, .contentTooLarge, error.message)) }
            return .failure(refusal(request, .badRequest, error.message))
        }
    }

    /// A refused request as an `Error`, so the decoder can return `Result`.
    struct Refusal: Error {
        let response: Response
    }

    private func refusal(_ request: Request, _ status: HTTPResponse.Status, _ message: String) -> Refusal {
        if request.uri.path == mcpPath {
            return Refusal(response: MCPHTTPTransport.refusal(status, .invalidRequest, message))
        }
        let code = status == .unsupportedMediaType ? "unsupported_content_encoding" : "invalid_arguments"
        return Refusal(response: RESTServer.failure(status, code: code, message))
    }
}

/// A response body writer that keeps what is written, to encode it whole.
private struct CollectingWriter {
    private let box = Box()

    var collected: ByteBuffer { box.buffer }

    var writer: any ResponseBodyWriter { Writer(box: box) }

    private final class Box: @unchecked Sendable {
        // Written by one body's write, read after it returned: never shared across tasks at once.
        var buffer = ByteBuffer()
    }

    private struct Writer: ResponseBodyWriter {
        let box: Box

        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            box.buffer.writeBuffer(&buffer)
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
