import Auth
import Pairing
import Switchboard
import UV
import WebSocket

/// Routes for the backend (`/api/...`, behind the API key), pairing by code (`POST /pair`,
/// `/pair/code/CODE.svg|png`) and `GET /auth`. Answers are JSON in the one reply shape.
enum APIRoutes {
    static func get(_ head: HTTPRequestHead, from connection: Connection, server: Server) -> HTTPResponse? {
        if head.path == "/auth" {
            return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: "{\"mode\":\"\(server.config.auth.rawValue)\"}")))
        }
        if head.path.hasPrefix("/pair/code/") { return codeImage(head, from: connection, server: server) }
        if head.path.hasPrefix("/pair/"), server.trust != nil {
            return .json(403, HTTPRoutes.text(Reply(.forbidden, "in token mode a pairing QR comes from a code the box asks for: /pair/code/CODE.svg")))
        }
        guard head.path.hasPrefix("/api/") else { return nil }
        if head.path.hasPrefix(ConsoleRoutes.apiPrefix) { return ConsoleRoutes.get(head, from: connection, server: server) }
        if let refusal = requireAPIKey(head, from: connection, server: server) { return refusal }
        let parts = head.path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 4, parts[2] == "devices" { return device(String(parts[3]), server: server) }
        return notFound(head)
    }

    static func post(_ head: HTTPRequestHead, body: [UInt8], from connection: Connection, server: Server) -> HTTPResponse? {
        if head.path == "/pair" { return pair(body, from: connection, server: server) }
        guard head.path.hasPrefix("/api/") else { return nil }
        if head.path.hasPrefix(ConsoleRoutes.apiPrefix) { return ConsoleRoutes.post(head, body: body, from: connection, server: server) }
        if let refusal = requireAPIKey(head, from: connection, server: server) { return refusal }
        guard let fields = JSONFields(body) else { return bad("the body must be a JSON object") }
        let parts = head.path.split(separator: "/", omittingEmptySubsequences: false)
        switch head.path {
        case "/api/send": return send(fields, server: server)
        case "/api/tokens": return mint(fields, server: server)
        default:
            if parts.count == 5, parts[2] == "devices", parts[4] == "disconnect" {
                return disconnect(String(parts[3]), fields, server: server)
            }
            return notFound(head)
        }
    }

    // MARK: The API key

    /// Nil when the request carries the API key; else the refusal (401, or 429 after repeated failures).
    static func requireAPIKey(_ head: HTTPRequestHead, from connection: Connection, server: Server) -> HTTPResponse? {
        guard server.config.apiKey != nil else {
            return .json(404, HTTPRoutes.text(Reply(.malformed, "no API key configured (--api-key-file)")))
        }
        if hasAPIKey(head, server: server) { return nil }
        return refuseKey(missing: head.bearerToken == nil, from: connection, server: server)
    }

    /// The answer to a wrong or missing API key (here or at the console's sign-in): 401, or 429
    /// once one address fails more than a few times a second.
    static func refuseKey(missing: Bool, from connection: Connection, server: Server) -> HTTPResponse {
        server.metrics.apiKeyFailures += 1
        if let address = connection.peerIP, server.apiFailures.admit(address, now: server.loop.now) != .allow {
            return .json(429, HTTPRoutes.text(Reply(.rateLimited, "too many failed attempts; wait")), headers: [("Retry-After", "5")])
        }
        server.console?.record(.authFailure, device: "", detail: "\(missing ? "missing" : "wrong") API key from \(connection.peerIP.map { "\($0)" } ?? "?")")
        return .json(401, HTTPRoutes.text(Reply(.forbidden, missing ? "missing API key" : "wrong API key")),
                     headers: [("WWW-Authenticate", "Bearer")])
    }

    static func hasAPIKey(_ head: HTTPRequestHead, server: Server) -> Bool {
        guard let key = server.config.apiKey, let given = head.bearerToken else { return false }
        return constantTimeEqual(Array(given.utf8), key)
    }

    /// Compares without stopping at the first difference, so timing tells nothing of the key.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    // MARK: /api

    /// `onlineElsewhere`: what the fleet said of a device not connected here.
    static func device(_ id: String, server: Server, onlineElsewhere: Bool = false) -> HTTPResponse {
        if let problem = DeviceID.problem(with: id) { return bad(problem) }
        let held = server.kept.holding(for: id)
        let kept = ",\"kept\":\(held.messages),\"kept_bytes\":\(held.bytes)"
        guard server.switchboard.peer(for: id) != nil else {
            return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: "{\"id\":\"\(id)\",\"online\":\(onlineElsewhere)\(kept)}")))
        }
        let kind = server.trust?.kind(of: id).map { ",\"kind\":\"\($0.rawValue)\"" } ?? ""
        return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: "{\"id\":\"\(id)\",\"online\":true,\"since\":\(server.ledger?.arrival(of: id)?.since ?? 0)\(kind)\(kept)}")))
    }

    /// `{"to":"ID","msg":...}`: delivered with `"from":"server"`.
    private static func send(_ fields: JSONFields, server: Server) -> HTTPResponse {
        guard let to = fields.string("to"), DeviceID.isValid(to), let msg = fields.raw("msg") else {
            return bad("send needs \"to\" (a device id) and \"msg\"")
        }
        guard let peer = server.switchboard.peer(for: to) else {
            return .json(200, HTTPRoutes.text(Reply(.targetOffline, "target offline", dataJSON: Reply.statusMap([(to, false)]))))
        }
        if server.isBusy(peer) {
            return .json(200, HTTPRoutes.text(Reply(.recipientBusy, "recipient busy", dataJSON: Reply.statusMap([(to, true)]))))
        }
        let frame = Array("{\"from\":\"server\",\"to\":\"\(to)\",\"msg\":".utf8) + msg + [UInt8(ascii: "}")]
        frame.withUnsafeBytes { server.handOver($0, to: peer) }
        return .json(200, HTTPRoutes.text(Reply(.ok, "delivered", dataJSON: Reply.statusMap([(to, true)]))))
    }

    static func disconnect(_ id: String, _ fields: JSONFields, server: Server) -> HTTPResponse {
        if let problem = DeviceID.problem(with: id) { return bad(problem) }
        let reason = fields.string("reason").map { String($0.prefix(100)) } ?? "disconnected by the operator"
        guard server.disconnect(id, reason: reason) else {
            return .json(404, HTTPRoutes.text(Reply(.targetOffline, "target offline", dataJSON: Reply.statusMap([(id, false)]))))
        }
        return .json(200, HTTPRoutes.text(Reply(.ok, "disconnected", dataJSON: Reply.statusMap([(id, false)]))))
    }

    /// `{"sub":"ID","kind":"box","ttl":3600,"peers":[...]}`: a token signed with the first HMAC key.
    private static func mint(_ fields: JSONFields, server: Server) -> HTTPResponse {
        guard let signer = server.trust?.signer ?? server.config.hmacKeys.first.map({ TokenSigner(hmacSecret: $0.secret, kid: $0.kid) }) else {
            return .json(501, HTTPRoutes.text(Reply(.malformed, "minting tokens needs --auth-hmac-key-file")))
        }
        guard let sub = fields.string("sub"), DeviceID.isValid(sub) else { return bad("\"sub\" must be a device id") }
        let ttl = fields.integer("ttl") ?? 3600
        guard (1...(366 * 86_400)).contains(ttl) else { return bad("\"ttl\" must be 1...31622400 seconds") }
        var kind: DeviceKind?
        if fields.has("kind") {
            guard let named = fields.string("kind").flatMap(DeviceKind.init(rawValue:)) else { return bad("\"kind\" is box, phone or service") }
            kind = named
        }
        let peers = fields.has("peers") ? fields.strings("peers") : []
        guard let peers, peers.count <= 1000, peers.allSatisfy(DeviceID.isValid) else { return bad("\"peers\" must be up to 1000 device ids") }
        let now = Trust.now()
        let token = signer.sign(TokenClaims(sub: sub, exp: now + Int64(ttl), iat: now, kind: kind, peers: peers))
        return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: "{\"token\":\"\(token)\",\"expires\":\(now + Int64(ttl))}")))
    }

    // MARK: Pairing by code

    /// `POST /pair {"code":...,"token":...}`: redeems a box's code for a phone token whose peers
    /// list the box (keeping the phone's id and earlier peers when its current token is given).
    private static func pair(_ body: [UInt8], from connection: Connection, server: Server) -> HTTPResponse {
        switch pairRequest(body, from: connection, server: server) {
        case .failure(let refusal): return refusal.response
        case .success(let request):
            let redeemed = server.trust!.codes.redeem(request.code, now: Trust.now())
            return paired(redeemed, request, server: server)
        }
    }

    struct PairRequest {
        let code: String
        let fields: JSONFields
    }

    /// The checks before a code is redeemed: token mode with a signing key, the address's pace, a code.
    static func pairRequest(_ body: [UInt8], from connection: Connection, server: Server) -> Result<PairRequest, HTTPRoutes.Refusal> {
        guard let trust = server.trust else {
            return .failure(HTTPRoutes.Refusal(response: .json(404, HTTPRoutes.text(Reply(.malformed, "pairing by code needs --auth token")))))
        }
        guard trust.signer != nil else {
            return .failure(HTTPRoutes.Refusal(response: .json(501, HTTPRoutes.text(Reply(.malformed, "pairing needs --auth-hmac-key-file to mint phone tokens")))))
        }
        if let address = server.limitedAddress(of: connection), trust.pairingLimiter.admit(address, now: server.loop.now) != .allow {
            return .failure(HTTPRoutes.Refusal(response: .json(429, HTTPRoutes.text(Reply(.rateLimited, "too many pairing attempts; wait a moment")),
                                          headers: [("Retry-After", "2")])))
        }
        guard let fields = JSONFields(body), let code = fields.string("code") else { return .failure(HTTPRoutes.Refusal(response: bad("send {\"code\":\"...\"}"))) }
        return .success(PairRequest(code: code, fields: fields))
    }

    /// The answer once the code was redeemed (here, or in the fleet's Redis): a phone token, and
    /// the box told wherever it is connected.
    static func paired(_ redeemed: Result<String, CodeProblem>, _ request: PairRequest, server: Server) -> HTTPResponse {
        guard let trust = server.trust, let signer = trust.signer else { return bad("token mode is off") }
        let box: String
        switch redeemed {
        case .failure(let problem):
            return .json(403, HTTPRoutes.text(Reply(.forbidden, problem.message, dataJSON: "{\"reason\":\"\(problem.reason)\"}")))
        case .success(let redeemedBox):
            box = redeemedBox
        }
        let now = Trust.now()
        var phone = "phone-" + PairingCodes.secureRandom(9).map { String($0 % 36, radix: 36) }.joined()
        var peers: [String] = []
        if let current = request.fields.string("token"), case .success(let claims) = trust.verifier.verify(current, now: now, expectedSubject: nil),
           claims.kind == .phone {
            phone = claims.sub
            peers = claims.peers.filter { $0 != box }.suffix(998)
        }
        peers.append(box)
        do { try trust.revocations.lift(box: box, phone: phone) } catch {
            server.logger.error("could not lift a revocation", metadata: ["error": "\(error)"])
        }
        let expires = now + server.config.pairedTokenTTLSeconds
        let token = signer.sign(TokenClaims(sub: phone, exp: expires, iat: now, kind: .phone, peers: peers))
        server.metrics.pairings += 1
        _ = server.notify(box, msg: "paired", dataJSON: "{\"phone\":\"\(phone)\"}")
        let data = "{\"device_id\":\"\(phone)\",\"token\":\"\(token)\",\"box\":\"\(box)\",\"expires\":\(expires)}"
        return .json(200, HTTPRoutes.text(Reply(.ok, "paired", dataJSON: data)))
    }

    /// `GET /pair/code/CODE.svg|png[?scale=N]`: the QR of a code still valid and unused.
    private static func codeImage(_ head: HTTPRequestHead, from connection: Connection, server: Server) -> HTTPResponse {
        switch codeImageRequest(head) {
        case .failure(let refusal): return refusal.response
        case .success(let image):
            return codeImage(image, box: server.trust?.codes.box(for: image.code, now: Trust.now()), head: head, from: connection, server: server)
        }
    }

    struct CodeImage {
        let code: String
        let format: String
    }

    static func codeImageRequest(_ head: HTTPRequestHead) -> Result<CodeImage, HTTPRoutes.Refusal> {
        let name = head.path.dropFirst("/pair/code/".count)
        guard let dot = name.lastIndex(of: "."), ["svg", "png"].contains(name[name.index(after: dot)...]) else {
            return .failure(HTTPRoutes.Refusal(response: .json(404, HTTPRoutes.text(Reply(.malformed, "use /pair/code/CODE.svg or .png")))))
        }
        return .success(CodeImage(code: String(name[..<dot]), format: String(name[name.index(after: dot)...])))
    }

    /// The QR of `image`'s code, whose box (nil: used, expired or unknown) was looked up here or in the fleet.
    static func codeImage(_ image: CodeImage, box: String?, head: HTTPRequestHead, from connection: Connection, server: Server) -> HTTPResponse {
        guard server.trust != nil, let box else {
            return .json(404, HTTPRoutes.text(Reply(.malformed, "no such pairing code (used or expired)")))
        }
        guard let url = PairingLink.url(box: box, code: image.code, publicURL: server.config.publicURL, host: head.header("host")) else {
            return .json(400, HTTPRoutes.text(Reply(.malformed, "no usable Host header to build the pairing URL from")))
        }
        return PairingRoutes.qrImage(url: url, format: image.format, head: head, from: connection, server: server, cacheable: false)
    }

    static func bad(_ why: String) -> HTTPResponse { .json(400, HTTPRoutes.text(Reply(.malformed, why))) }

    private static func notFound(_ head: HTTPRequestHead) -> HTTPResponse {
        .json(404, HTTPRoutes.text(Reply(.malformed, "no route for \(head.path)")))
    }
}
