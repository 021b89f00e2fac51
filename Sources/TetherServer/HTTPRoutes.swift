import Switchboard
import WebSocket

/// Plain HTTP requests (not upgrades).
enum HTTPRoutes {
    static func respond(to head: HTTPRequestHead, body: [UInt8], from connection: Connection, server: Server) -> HTTPResponse {
        withCORS(route(head, body: body, from: connection, server: server), server: server)
    }

    static func withCORS(_ response: HTTPResponse, server: Server) -> HTTPResponse {
        guard let origin = server.config.corsOrigin else { return response }
        var response = response
        response.headers.append(("Access-Control-Allow-Origin", origin))
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
            let text = server.metrics.render(Metrics.Gauges(
                connections: server.connectionCount, connectionsLimit: server.config.maxConnections, devices: server.switchboard.deviceCount,
                presenceEvents: server.switchboard.presenceEventCount, queuedBytes: server.queuedBytes(),
                consoleStreams: server.console?.streamCount ?? 0, kept: server.kept.total, keptBytesLimit: server.config.offlineMaxTotalBytes)) + server.clusterMetrics()
            response = HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(text.utf8))
        case "/readyz":
            if server.draining {
                response = .json(503, "{\"status\":\"draining\"}")
            } else if let cluster = server.cluster, !cluster.isAvailable {
                response = .json(503, "{\"status\":\"cluster unavailable\"}")
            } else {
                response = .json(200, "{\"status\":\"ready\"}")
            }
        case "/online_status":
            response = onlineStatus(head, from: connection, server: server)
        default:
            if let console = ConsoleRoutes.asset(head, server: server) { return console }
            response = PairingRoutes.respond(to: head, from: connection, server: server) ?? .json(404, text(Reply(.malformed, "no route for \(head.path)")))
        }
        return response
    }

    /// `GET /online_status?deviceid=ID[,ID...]` (or `device_id=`).
    /// In token mode it needs the API key (every id) or a device token (ids that device may message).
    static func onlineStatus(_ head: HTTPRequestHead, from connection: Connection, server: Server) -> HTTPResponse {
        switch onlineStatusIDs(head, server: server) {
        case .failure(let refusal): return refusal.response
        case .success(let query):
            let ids = query.ids
            if ids.isEmpty { return .json(200, text(Reply(.ok, "ok"))) }
            return onlineStatusResponse(server.switchboard.queryStatus(ids, watcher: nil))
        }
    }

    static func onlineStatusResponse(_ answer: Result<String, QueryProblem>) -> HTTPResponse {
        switch answer {
        case .success(let map): return .json(200, text(Reply(.ok, "ok", dataJSON: map)))
        case .failure(let problem): return .json(400, text(Reply(.malformed, problem.description)))
        }
    }

    struct Refusal: Error { let response: HTTPResponse }

    /// What an `online_status` request may be told: `ids`, as far as the caller's own token (or
    /// this node) allows; in token mode the caller and the ids left out, which a fleet may allow.
    struct OnlineStatusQuery {
        var ids: [String]
        var caller: String?
        var leftOut: [String] = []
    }

    static func onlineStatusIDs(_ head: HTTPRequestHead, server: Server) -> Result<OnlineStatusQuery, Refusal> {
        guard let list = head.queryValue("deviceid") ?? head.queryValue("device_id"), !list.isEmpty else {
            return .failure(Refusal(response: .json(400, text(Reply(.malformed, "missing deviceid")))))
        }
        let ids = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if let trust = server.trust, !APIRoutes.hasAPIKey(head, server: server) {
            let token = DeviceRequest.token(in: head)
            guard let token else { return .failure(Refusal(response: Server.unauthorized(.missing))) }
            switch trust.verifier.verify(token, now: Trust.now(), expectedSubject: nil) {
            case .failure(let problem): return .failure(Refusal(response: Server.unauthorized(problem)))
            case .success(let claims):
                let allowed = ids.filter { trust.mayMessage(claims: claims, $0) }
                return .success(OnlineStatusQuery(ids: allowed, caller: claims.sub, leftOut: ids.filter { !allowed.contains($0) }))
            }
        }
        return .success(OnlineStatusQuery(ids: ids))
    }

    static func text(_ reply: Reply) -> String { String(decoding: reply.bytes, as: UTF8.self) }
}
