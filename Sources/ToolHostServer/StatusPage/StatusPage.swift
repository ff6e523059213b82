import Foundation
import Hummingbird
import NIOCore

/// The status page `toolhost serve` answers at `/`: plugins and their state, tools with their policies, calls per
/// second, latency, errors, the cache, agents and memory, refreshed once a second by the page itself.
///
/// The page is three static assets compiled into the binary (`/`, `/status.js`, `/status.css`); nothing is fetched
/// from elsewhere. They hold no data, so they are served without the bearer token; the script reads the data from
/// `/v1/insights`, `/v1/plugins` and `/v1/tools` like any client. Behind a token the page asks for it once, keeps it
/// in the tab's session storage and sends it only in the `Authorization` header, never in a URL. Its
/// `Content-Security-Policy` allows scripts, styles and connections to this server only, and no framing.
enum StatusPage {
    /// One asset: its path, media type and bytes.
    struct Asset: Sendable {
        let path: String
        let contentType: String
        let bytes: [UInt8]
    }

    /// The page's assets, for a server that wants a bearer token or not.
    static func assets(tokenRequired: Bool) -> [Asset] {
        let page = document.replacingOccurrences(of: "{{auth}}", with: tokenRequired ? "bearer" : "none")
        return [
            Asset(path: "/", contentType: "text/html; charset=utf-8", bytes: Array(page.utf8)),
            Asset(path: "/status.js", contentType: "text/javascript; charset=utf-8", bytes: Array(script.utf8)),
            Asset(path: "/status.css", contentType: "text/css; charset=utf-8", bytes: Array(style.utf8)),
        ]
    }

    /// Whether `path` is one of the page's assets (served without the token: they hold no data).
    static func isAsset(_ path: String) -> Bool {
        path == "/" || path == "/status.js" || path == "/status.css"
    }

    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The answer for one asset: its bytes with headers that keep it from being framed, sniffed or cached stale.
    static func response(_ asset: Asset) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = asset.contentType
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPFields.Element.Name("Referrer-Policy")!] = "no-referrer"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
