import Pairing
import Switchboard
import WebSocket

/// The pages a person uses (index, box, remote) and the QR codes that pair a phone with a box.
enum PairingRoutes {
    /// The answer for `head`, or nil when the path is not one of these routes.
    static func respond(to head: HTTPRequestHead, from connection: Connection, server: Server) -> HTTPResponse? {
        if let asset = WebAsset.at(head.path) {
            return HTTPResponse(status: 200, headers: [("Content-Type", asset.contentType)] + WebAsset.securityHeaders, body: asset.body)
        }
        guard head.path.hasPrefix("/pair/") else { return nil }
        return pairing(head, from: connection, server)
    }

    /// `GET /pair/ID.svg`, `/pair/ID.png[?scale=N]` and `/pair/ID.json`.
    private static func pairing(_ head: HTTPRequestHead, from connection: Connection, _ server: Server) -> HTTPResponse {
        let config = server.config
        let name = head.path.dropFirst("/pair/".count)
        guard let dot = name.lastIndex(of: "."), let format = Format(rawValue: String(name[name.index(after: dot)...])) else {
            return .json(404, HTTPRoutes.text(Reply(.malformed, "use /pair/ID.svg, /pair/ID.png or /pair/ID.json")))
        }
        let box = String(name[..<dot])
        if let problem = DeviceID.problem(with: box) { return .json(400, HTTPRoutes.text(Reply(.malformed, problem))) }
        guard let url = PairingLink.url(box: box, publicURL: config.publicURL, host: head.header("host")) else {
            return .json(400, HTTPRoutes.text(Reply(.malformed, "no usable Host header to build the pairing URL from")))
        }
        switch format {
        case .svg, .png:
            return qrImage(url: url, format: format.rawValue, head: head, from: connection, server: server, cacheable: true)
        case .json:
            let data = "{\"box\":\"\(box)\",\"url\":\"\(jsonEscape(url))\",\"svg\":\"/pair/\(box).svg\",\"png\":\"/pair/\(box).png\"}"
            return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: data)))
        }
    }

    private enum Format: String { case svg, png, json }

    /// The QR code of `url` as SVG or PNG (`?scale=N`, 1-32, default 8), from the cache when `cacheable`.
    static func qrImage(url: String, format: String, head: HTTPRequestHead, from connection: Connection, server: Server, cacheable: Bool) -> HTTPResponse {
        let isSVG = format == "svg"
        let scale = isSVG ? 0 : head.queryValue("scale").map { Int($0) ?? 0 } ?? 8
        guard isSVG || (1...32).contains(scale) else {
            return .json(400, HTTPRoutes.text(Reply(.malformed, "scale must be 1...32")))
        }
        var tooLong = false
        var refused = false
        let render = { () -> [UInt8] in
            // Drawing costs milliseconds: each address may have only so many drawn a second.
            guard server.admitRender(for: connection) else { refused = true; return [] }
            server.metrics.qrCacheMisses += 1
            guard let code = QRCode(encoding: url) else { tooLong = true; return [] }
            return isSVG ? code.svg() : code.png(scale: scale)
        }
        let body = cacheable ? server.qrCache.body(for: "\(format) \(scale) \(url)", hit: { server.metrics.qrCacheHits += 1 }, render: render) : render()
        if refused {
            return .json(429, HTTPRoutes.text(Reply(.rateLimited, "too many QR codes drawn for your address; slow down")), headers: [("Retry-After", "1")])
        }
        if tooLong || body.isEmpty { return .json(400, HTTPRoutes.text(Reply(.malformed, "pairing URL too long for a QR code"))) }
        return image(isSVG ? "image/svg+xml" : "image/png", body)
    }

    private static func image(_ type: String, _ body: [UInt8]) -> HTTPResponse {
        // The code depends on the Host header unless --public-url is set, so caches must ask again.
        HTTPResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff")], body: body)
    }
}
