import Switchboard
import WebSocket

/// Plain HTTP requests (not upgrades).
enum HTTPRoutes {
    static func respond(to head: HTTPRequestHead, body: [UInt8], from connection: Connection, server: Server) -> HTTPResponse {
        var response = route(head, body: body, from: connection, server: server)
        if let origin = server.config.corsOrigin {
            response.headers.append(("Access-Control-Allow-Origin", origin))
        }
        return response
    }

    private static func route(_ head: HTTPRequestHead, body: [UInt8], from connection: Connection, server: Server) -> HTTPResponse {
        if head.method == "POST" {
            return APIRoutes.post(head, body: body, from: connection, server: server)
                ?? .json(405, text(Reply(.malformed, "\(head.path) takes GET")), headers: [("Allow", "GET")])
        }
        if let api = APIRoutes.get(head, from: connection, server: server) { return api }
        let response: HTTPResponse
        switch head.path {
        case "/healthz":
            response = .json(200, "{\"status\":\"ok\"}")
        case "/metrics":
            if server.config.metricsAuth, let refusal = APIRoutes.requireAPIKey(head, from: connection, server: server) { return refusal }
            let text = server.metrics.render(connections: server.connectionCount, devices: server.switchboard.deviceCount,
                                             presenceEvents: server.switchboard.presenceEventCount, kept: server.kept.total)
            response = HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(text.utf8))
        case "/readyz":
            response = server.draining ? .json(503, "{\"status\":\"draining\"}") : .json(200, "{\"status\":\"ready\"}")
        case "/online_status":
            response = onlineStatus(head, from: connection, server: server)
        default:
            response = PairingRoutes.respond(to: head, from: connection, server: server) ?? .json(404, text(Reply(.malformed, "no route for \(head.path)")))
        }
        return response
    }

    /// `GET /online_status?deviceid=ID[,ID...]` (or `device_id=`).
    /// In token mode it needs the API key (every id) or a device token (ids that device may message).
    static func onlineStatus(_ head: HTTPRequestHead, from connection: Connection, server: Server) -> HTTPResponse {
        let switchboard = server.switchboard
        guard let list = head.queryValue("deviceid") ?? head.queryValue("device_id"), !list.isEmpty else {
            return .json(400, text(Reply(.malformed, "missing deviceid")))
        }
        var ids = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if let trust = server.trust, !APIRoutes.hasAPIKey(head, server: server) {
            let token = head.queryValue("token") ?? head.bearerToken
            guard let token else { return Server.unauthorized(.missing) }
            switch trust.verifier.verify(token, now: Trust.now(), expectedSubject: nil) {
            case .failure(let problem): return Server.unauthorized(problem)
            case .success(let claims):
                ids = ids.filter { trust.mayMessage(claims: claims, $0) }
                if ids.isEmpty { return .json(200, text(Reply(.ok, "ok"))) }
            }
        }
        switch switchboard.queryStatus(ids, watcher: nil) {
        case .success(let map): return .json(200, text(Reply(.ok, "ok", dataJSON: map)))
        case .failure(let problem): return .json(400, text(Reply(.malformed, problem.description)))
        }
    }

    static func text(_ reply: Reply) -> String { String(decoding: reply.bytes, as: UTF8.self) }
}
