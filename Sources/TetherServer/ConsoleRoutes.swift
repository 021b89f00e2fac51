import Auth
import Console
import Pairing
import Switchboard
import WebSocket

/// The operator console: its page (`/console`) and its API (`/api/console/...`). Signing in
/// trades the backend API key for a session cookie; every other call needs that session, and
/// the calls that change something also need a same-origin `Origin` (or none: not a browser).
enum ConsoleRoutes {
    static let apiPrefix = "/api/console/"
    static let livePath = "/api/console/live"

    /// The page and its scripts, when the console is on.
    static func asset(_ head: HTTPRequestHead, server: Server) -> HTTPResponse? {
        guard server.console != nil, let asset = WebAsset.console(at: head.path) else { return nil }
        return HTTPResponse(status: 200, headers: [("Content-Type", asset.contentType)] + WebAsset.securityHeaders, body: asset.body)
    }

    /// `GET /api/console/live` with a session: the connection becomes a live stream (true).
    static func openStream(_ head: HTTPRequestHead, from connection: Connection, server: Server) -> Bool {
        guard head.path == livePath, head.method == "GET", let console = server.console, session(head, server) != nil,
              let token = SessionCookie.token(in: head.header("cookie")) else { return false }
        console.join(connection, session: token)
        return true
    }

    static func get(_ head: HTTPRequestHead, from connection: Connection, server: Server) -> HTTPResponse {
        guard let console = server.console else { return off }
        guard let expires = session(head, server) else { return signInFirst }
        let parts = pathParts(head)
        switch (parts.count, parts.first ?? "") {
        case (1, "session"):
            return ok("{\"expires\":\(expires)}")
        case (1, "events"):
            let events = console.events.newest(matching: head.queryValue("id"))
            return ok("[\(events.map(\.json).joined(separator: ","))]")
        case (2, "devices"):
            return ConsoleLookup.device(parts[1], server: server)
        default:
            return .json(404, HTTPRoutes.text(Reply(.malformed, "no route for \(head.path)")))
        }
    }

    static func post(_ head: HTTPRequestHead, body: [UInt8], from connection: Connection, server: Server) -> HTTPResponse {
        guard let console = server.console else { return off }
        if let origin = head.header(.origin), !OriginPolicy.allows(origin, head: head, config: server.config) {
            return .json(403, HTTPRoutes.text(Reply(.forbidden, "origin not allowed")))
        }
        let secure = connection.isTLS || server.config.publicURL?.hasPrefix("https://") == true
        let parts = pathParts(head)
        if parts == ["session"] { return signIn(body, from: connection, console: console, server: server, secure: secure) }
        guard session(head, server) != nil else { return signInFirst }
        switch (parts.count, parts.first ?? "", parts.last ?? "") {
        case (1, "signout", _):
            if let token = SessionCookie.token(in: head.header("cookie")) { console.sessions.close(token) }
            return .json(200, HTTPRoutes.text(Reply(.ok, "signed out")), headers: [("Set-Cookie", SessionCookie.clearing(secure: secure))])
        case (3, "devices", "disconnect"):
            let fields = body.isEmpty ? JSONFields(Array("{}".utf8)) : JSONFields(body)
            guard let fields else { return .json(400, HTTPRoutes.text(Reply(.malformed, "the body must be a JSON object"))) }
            return APIRoutes.disconnect(parts[1], fields, server: server)
        case (3, "devices", "pairing"):
            return ConsoleLookup.pairing(parts[1], head: head, server: server)
        default:
            return .json(404, HTTPRoutes.text(Reply(.malformed, "no route for \(head.path)")))
        }
    }

    /// `{"key":"..."}`: the API key for a session cookie. A wrong key is refused like the API's
    /// (401, then 429 past a few failures a second from one address).
    private static func signIn(_ body: [UInt8], from connection: Connection, console: OperatorConsole, server: Server, secure: Bool) -> HTTPResponse {
        guard let key = JSONFields(body)?.string("key"), let expected = server.config.apiKey else {
            return .json(400, HTTPRoutes.text(Reply(.malformed, "send {\"key\":\"...\"}")))
        }
        guard APIRoutes.constantTimeEqual(Array(key.utf8), expected) else {
            return APIRoutes.refuseKey(missing: key.isEmpty, from: connection, server: server)
        }
        let session = console.sessions.open(now: Trust.now())
        return .json(200, HTTPRoutes.text(Reply(.ok, "signed in", dataJSON: "{\"expires\":\(session.expires)}")),
                     headers: [("Set-Cookie", SessionCookie.setting(session.token, maxAge: ConsoleSessions.lifetimeSeconds, secure: secure)),
                               ("Cache-Control", "no-store")])
    }

    /// The ID of `GET /api/console/devices/ID`, the device lookup.
    static func lookedUpDevice(_ head: HTTPRequestHead) -> String? {
        guard head.path.hasPrefix(apiPrefix) else { return nil }
        let parts = pathParts(head)
        return parts.count == 2 && parts[0] == "devices" ? parts[1] : nil
    }

    /// `/api/console/devices/ID/disconnect` -> ["devices", ID, "disconnect"].
    private static func pathParts(_ head: HTTPRequestHead) -> [String] {
        head.path.dropFirst(apiPrefix.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    }

    /// The expiry of the request's session, if it has a valid one.
    private static func session(_ head: HTTPRequestHead, _ server: Server) -> Int64? {
        guard let console = server.console, let token = SessionCookie.token(in: head.header("cookie")) else { return nil }
        return console.sessions.expiry(of: token, now: Trust.now())
    }

    private static func ok(_ dataJSON: String) -> HTTPResponse {
        .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: dataJSON)), headers: [("Cache-Control", "no-store")])
    }

    private static let signInFirst = HTTPResponse.json(401, HTTPRoutes.text(Reply(.forbidden, "sign in to the console first")))
    private static let off = HTTPResponse.json(404, HTTPRoutes.text(Reply(.malformed, "no console: it is off (--console off) or no API key is configured")))
}
