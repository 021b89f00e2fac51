import Switchboard
import WebSocket

/// Plain HTTP requests (not upgrades).
enum HTTPRoutes {
    static func respond(to head: HTTPRequestHead, server: Server) -> HTTPResponse {
        var response: HTTPResponse
        switch head.path {
        case "/healthz":
            response = .json(200, "{\"status\":\"ok\"}")
        case "/metrics":
            let text = server.metrics.render(connections: server.connectionCount, devices: server.switchboard.deviceCount,
                                             presenceEvents: server.switchboard.presenceEventCount)
            response = HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(text.utf8))
        case "/readyz":
            response = server.draining ? .json(503, "{\"status\":\"draining\"}") : .json(200, "{\"status\":\"ready\"}")
        case "/online_status":
            response = onlineStatus(head, server.switchboard)
        default:
            response = PairingRoutes.respond(to: head, server: server) ?? .json(404, text(Reply(.malformed, "no route for \(head.path)")))
        }
        if let origin = server.config.corsOrigin {
            response.headers.append(("Access-Control-Allow-Origin", origin))
        }
        return response
    }

    /// `GET /online_status?deviceid=ID[,ID...]` (or `device_id=`).
    static func onlineStatus(_ head: HTTPRequestHead, _ switchboard: Switchboard<Connection>) -> HTTPResponse {
        guard let list = head.queryValue("deviceid") ?? head.queryValue("device_id"), !list.isEmpty else {
            return .json(400, text(Reply(.malformed, "missing deviceid")))
        }
        let ids = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        switch switchboard.queryStatus(ids, watcher: nil) {
        case .success(let map): return .json(200, text(Reply(.ok, "ok", dataJSON: map)))
        case .failure(let problem): return .json(400, text(Reply(.malformed, problem.description)))
        }
    }

    static func text(_ reply: Reply) -> String { String(decoding: reply.bytes, as: UTF8.self) }
}
