import Pairing
import Switchboard
import WebSocket

/// The pages a person uses (index, box, remote) and the QR codes that pair a phone with a box.
enum PairingRoutes {
    /// The answer for `head`, or nil when the path is not one of these routes.
    static func respond(to head: HTTPRequestHead, config: ServerConfig) -> HTTPResponse? {
        if let asset = WebAsset.at(head.path) {
            return HTTPResponse(status: 200, headers: [("Content-Type", asset.contentType)] + WebAsset.securityHeaders, body: asset.body)
        }
        guard head.path.hasPrefix("/pair/") else { return nil }
        return pairing(head, config)
    }

    /// `GET /pair/ID.svg`, `/pair/ID.png[?scale=N]` and `/pair/ID.json`.
    private static func pairing(_ head: HTTPRequestHead, _ config: ServerConfig) -> HTTPResponse {
        let name = head.path.dropFirst("/pair/".count)
        guard let dot = name.lastIndex(of: "."), let format = Format(rawValue: String(name[name.index(after: dot)...])) else {
            return .json(404, HTTPRoutes.text(Reply(.malformed, "use /pair/ID.svg, /pair/ID.png or /pair/ID.json")))
        }
        let box = String(name[..<dot])
        if let problem = DeviceID.problem(with: box) { return .json(400, HTTPRoutes.text(Reply(.malformed, problem))) }
        guard let url = PairingLink.url(box: box, publicURL: config.publicURL, host: head.header("host")) else {
            return .json(400, HTTPRoutes.text(Reply(.malformed, "no usable Host header to build the pairing URL from")))
        }
        guard let code = QRCode(encoding: url) else {
            return .json(400, HTTPRoutes.text(Reply(.malformed, "pairing URL too long for a QR code")))
        }
        switch format {
        case .svg:
            return image("image/svg+xml", code.svg())
        case .png:
            let scale = head.queryValue("scale").map { Int($0) ?? 0 } ?? 8
            guard (1...32).contains(scale) else { return .json(400, HTTPRoutes.text(Reply(.malformed, "scale must be 1...32"))) }
            return image("image/png", code.png(scale: scale))
        case .json:
            let data = "{\"box\":\"\(box)\",\"url\":\"\(jsonEscape(url))\",\"svg\":\"/pair/\(box).svg\",\"png\":\"/pair/\(box).png\"}"
            return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: data)))
        }
    }

    private enum Format: String { case svg, png, json }

    private static func image(_ type: String, _ body: [UInt8]) -> HTTPResponse {
        // The code depends on the Host header unless --public-url is set, so caches must ask again.
        HTTPResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff")], body: body)
    }
}
