import Auth
import Cluster
import Switchboard
import WebSocket

/// HTTP requests a fleet answers a round trip later: pairing by code (issued on the box's node,
/// redeemed or drawn on any), the backend API about devices on other nodes, `online_status`, and
/// the console's device lookup. Everything else, and every request of a single server, is
/// answered at once by HTTPRoutes.
enum FleetRoutes {
    typealias Answer = (@escaping (HTTPResponse) -> Void) -> Void

    /// How to answer `head` later, or nil when it is answered at once.
    static func deferred(_ head: HTTPRequestHead, body: [UInt8], from connection: Connection, server: Server) -> Answer? {
        if let view = server.clusterConsole, head.method == "GET", let id = ConsoleRoutes.lookedUpDevice(head) {
            // Which node holds the device, and what is kept for it, are asked first; then the
            // lookup is answered as on one server (CORS included).
            return { done in
                view.refreshHolder(of: id) {
                    server.kept.refreshHolding(for: id) { done(HTTPRoutes.respond(to: head, body: body, from: connection, server: server)) }
                }
            }
        }
        guard let cluster = server.cluster, let answer = fleetAnswer(head, body, connection, server, cluster) else { return nil }
        return { done in answer { done(HTTPRoutes.withCORS($0, server: server)) } }
    }

    private static func fleetAnswer(_ head: HTTPRequestHead, _ body: [UInt8], _ connection: Connection, _ server: Server,
                                    _ cluster: ClusterNode) -> Answer? {
        if head.method == "GET", head.path == "/online_status" {
            return { done in server.onlineStatusAcrossFleet(head, from: connection, done) }
        }
        if server.trust != nil, head.method == "POST", head.path == "/pair" { return pair(body, connection, server, cluster) }
        if server.trust != nil, head.method == "GET", head.path.hasPrefix("/pair/code/") { return codeImage(head, connection, server, cluster) }
        // Without the key the request is refused at once (and counted) by APIRoutes.
        guard head.path.hasPrefix("/api/"), !head.path.hasPrefix(ConsoleRoutes.apiPrefix), APIRoutes.hasAPIKey(head, server: server) else { return nil }
        let parts = head.path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if head.method == "GET", parts.count == 4, parts[2] == "devices", server.switchboard.peer(for: parts[3]) == nil,
           DeviceID.isValid(parts[3]) {
            return device(parts[3], server, cluster)
        }
        guard head.method == "POST", let fields = JSONFields(body) else { return nil }
        if head.path == "/api/send", let to = fields.string("to"), DeviceID.isValid(to), server.switchboard.peer(for: to) == nil,
           let msg = fields.raw("msg") {
            return send(to, msg, cluster)
        }
        if parts.count == 5, parts[2] == "devices", parts[4] == "disconnect", server.switchboard.peer(for: parts[3]) == nil,
           DeviceID.isValid(parts[3]) {
            let reason = fields.string("reason").map { String($0.prefix(100)) } ?? "disconnected by the operator"
            return disconnect(parts[3], reason, cluster)
        }
        return nil
    }

    private static let unavailable = HTTPResponse.json(503, HTTPRoutes.text(Server.clusterUnavailable(nil)))

    private static func pair(_ body: [UInt8], _ connection: Connection, _ server: Server, _ cluster: ClusterNode) -> Answer {
        { done in
            switch APIRoutes.pairRequest(body, from: connection, server: server) {
            case .failure(let refusal): done(refusal.response)
            case .success(let request):
                cluster.pairingCode(request.code, redeem: true) { lookup in
                    guard let lookup else { return done(unavailable) }
                    done(APIRoutes.paired(redeemed(lookup), request, server: server))
                }
            }
        }
    }

    private static func redeemed(_ lookup: CodeLookup) -> Result<String, CodeProblem> {
        switch lookup {
        case .box(let box): .success(box)
        case .unknown: .failure(.unknown)
        case .used: .failure(.used)
        case .expired: .failure(.expired)
        }
    }

    private static func codeImage(_ head: HTTPRequestHead, _ connection: Connection, _ server: Server, _ cluster: ClusterNode) -> Answer {
        { done in
            switch APIRoutes.codeImageRequest(head) {
            case .failure(let refusal): done(refusal.response)
            case .success(let image):
                cluster.pairingCode(image.code, redeem: false) { lookup in
                    guard let lookup else { return done(unavailable) }
                    let box: String? = if case .box(let box) = lookup { box } else { nil }
                    done(APIRoutes.codeImage(image, box: box, head: head, from: connection, server: server))
                }
            }
        }
    }

    private static func device(_ id: String, _ server: Server, _ cluster: ClusterNode) -> Answer {
        { done in
            cluster.lookup([id]) { online in
                guard let online else { return done(unavailable) }
                server.kept.refreshHolding(for: id) {
                    done(APIRoutes.device(id, server: server, onlineElsewhere: online.first == true))
                }
            }
        }
    }

    /// `{"to":ID,"msg":...}` for a device not here: routed through the fleet with `"from":"server"`.
    private static func send(_ to: String, _ msg: [UInt8], _ cluster: ClusterNode) -> Answer {
        { done in
            let frame = Array("{\"from\":\"server\",\"to\":\"\(to)\",\"msg\":".utf8) + msg + [UInt8(ascii: "}")]
            frame.withUnsafeBytes {
                cluster.route($0, to: to, from: "server") { outcome in
                    switch outcome {
                    case .queued: done(.json(200, HTTPRoutes.text(Reply(.ok, "delivered", dataJSON: Reply.statusMap([(to, true)])))))
                    case .busy: done(.json(200, HTTPRoutes.text(Reply(.recipientBusy, "recipient busy", dataJSON: Reply.statusMap([(to, true)])))))
                    case .offline, .kept, .forbidden:
                        done(.json(200, HTTPRoutes.text(Reply(.targetOffline, "target offline", dataJSON: Reply.statusMap([(to, false)])))))
                    case .unavailable: done(unavailable)
                    }
                }
            }
        }
    }

    private static func disconnect(_ id: String, _ reason: String, _ cluster: ClusterNode) -> Answer {
        { done in
            cluster.disconnect(id, reason: reason) { held in
                switch held {
                case true?: done(.json(200, HTTPRoutes.text(Reply(.ok, "disconnected", dataJSON: Reply.statusMap([(id, false)])))))
                case false?: done(.json(404, HTTPRoutes.text(Reply(.targetOffline, "target offline", dataJSON: Reply.statusMap([(id, false)])))))
                case nil: done(unavailable)
                }
            }
        }
    }
}
