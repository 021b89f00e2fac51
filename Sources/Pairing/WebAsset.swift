/// The pages (pairing, the operator console) and their scripts and styles, compiled into the
/// binary (no files to ship).
public struct WebAsset: Sendable {
    public let contentType: String
    public let body: [UInt8]

    /// The asset served at `path`, or nil.
    public static func at(_ path: String) -> WebAsset? {
        switch path {
        case "/", "/index.html": WebAsset(contentType: html, body: PackageResources.index_html)
        case "/box": WebAsset(contentType: html, body: PackageResources.box_html)
        case "/remote": WebAsset(contentType: html, body: PackageResources.remote_html)
        case "/static/tether.css": WebAsset(contentType: "text/css; charset=utf-8", body: PackageResources.tether_css)
        case "/static/page.js": WebAsset(contentType: script, body: PackageResources.page_js)
        case "/static/box.js": WebAsset(contentType: script, body: PackageResources.box_js)
        case "/static/remote.js": WebAsset(contentType: script, body: PackageResources.remote_js)
        // The client library (clients/js, linked into Web): the pages import it, apps may too.
        case "/tether-client.js": WebAsset(contentType: script, body: PackageResources.tether_client_js)
        case "/static/favicon.svg": WebAsset(contentType: "image/svg+xml", body: PackageResources.favicon_svg)
        case "/docs/protocol.md": WebAsset(contentType: "text/markdown; charset=utf-8", body: PackageResources.protocol_md)
        default: nil
        }
    }

    /// The operator console's page and its own scripts and styles (served only while it is on).
    public static func console(at path: String) -> WebAsset? {
        switch path {
        case "/console": WebAsset(contentType: html, body: PackageResources.console_html)
        case "/static/console.js": WebAsset(contentType: script, body: PackageResources.console_js)
        case "/static/console-charts.js": WebAsset(contentType: script, body: PackageResources.console_charts_js)
        case "/static/console.css": WebAsset(contentType: "text/css; charset=utf-8", body: PackageResources.console_css)
        default: nil
        }
    }

    /// Pages load only their own scripts and styles, and talk only to this server.
    public static let securityHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-cache"),
    ]

    private static let html = "text/html; charset=utf-8"
    private static let script = "text/javascript; charset=utf-8"
}
