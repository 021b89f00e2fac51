import Auth
import Pairing
import Switchboard
import UV
import WebSocket

/// Token mode on the server: checking a device's token at the handshake, what its grants let it
/// hear and send, the server commands that manage tokens and pairing, and token expiry.
extension Server {
    /// The 401 for a token that did not verify (never naming the token itself).
    static func unauthorized(_ problem: TokenProblem) -> HTTPResponse {
        .json(401, HTTPRoutes.text(Reply(.forbidden, problem.message, dataJSON: "{\"reason\":\"\(problem.reason)\"}")),
              headers: [("WWW-Authenticate", "Bearer")])
    }

    /// A device proved its id: record its grants and seed who hears whom (watchers presence,
    /// limited to ids it may message).
    func admitToken(_ connection: Connection, _ id: String, _ claims: TokenClaims, host: String?) {
        guard let trust else { return }
        trust.admit(id, claims, host: host)
        switchboard.watch(connection, trust.presenceView(of: id))
        for other in Set(claims.peers).union(trust.devicesListing(id)) where trust.mayMessage(other, id) {
            if let peer = switchboard.peer(for: other) { switchboard.watch(peer, [id]) }
        }
        if cluster != nil { publishGrant(connection, id, claims) }
    }

    /// Server commands that token mode adds or narrows, answered on `connection` (now, or once
    /// the fleet answered); false lets the switchboard answer.
    func trustCommand(_ envelope: Envelope, payload: UnsafeRawBufferPointer, from connection: Connection, id: String) -> Bool {
        guard let trust else { return false }
        let fields = JSONFields(Array(payload))
        let data = envelope.dataRange.map { Array(UnsafeRawBufferPointer(rebasing: payload[$0])) }
        let idJSON = envelope.idJSON
        func answer(_ reply: Reply) -> Bool {
            connection.send(reply)
            return true
        }
        switch fields?.string("msg") {
        case "refresh":
            let token = data.flatMap { JSONFields($0) }?.string("token")
            switch trust.verify(token, for: id) {
            case .failure(let problem):
                return answer(Reply(.forbidden, problem.message, dataJSON: "{\"reason\":\"\(problem.reason)\"}", idJSON: idJSON))
            case .success(let claims):
                admitToken(connection, id, claims, host: nil)
                return answer(Reply(.ok, "token refreshed", dataJSON: "{\"expires\":\(claims.exp)}", idJSON: idJSON))
            }
        case "pairingCode":
            pairingCode(for: id, connection: connection, idJSON: idJSON)
            return true
        case "unpair":
            guard let phones = fields?.strings("data"), !phones.isEmpty, phones.count <= 100, phones.allSatisfy(DeviceID.isValid) else {
                return answer(Reply(.malformed, "unpair needs \"data\": an array of up to 100 device ids", idJSON: idJSON))
            }
            let now = Trust.now()
            trust.recentPermissions.invalidate()   // nothing routes until the revocations below are stored
            for phone in phones {
                let until = max(now + config.pairedTokenTTLSeconds, trust.expiries[phone] ?? 0)
                do { try trust.revocations.revoke(box: id, phone: phone, until: until) } catch {
                    logger.error("could not store a revocation", metadata: ["error": "\(error)"])
                    return answer(Reply(.malformed, "could not store the revocation; try again", idJSON: idJSON))
                }
                stopHearing(id, phone)
                // What either kept for the other would now be refused: it goes too.
                kept.drop(from: phone, to: id)
                kept.drop(from: id, to: phone)
                keptActivity = true
            }
            return answer(Reply(.ok, "unpaired", idJSON: idJSON))
        case "queryStatus":
            // Only ids it may message are answered (and watched); others are left out. In a fleet
            // the answer waits for Redis (who lists it elsewhere, who is online).
            guard let ids = fields?.strings("data"), ids.count <= Switchboard<Connection>.maxQueryIDs else { return false }
            permittedIDs(ids, for: id) { [self] allowed in
                guard connection.isOpen else { return }
                guard let allowed else { return connection.send(Server.clusterUnavailable(idJSON)) }
                guard !allowed.isEmpty else { return connection.send(Reply(.ok, "ok", idJSON: idJSON)) }
                queryStatus(allowed, watcher: connection) { connection.send(Server.queryReply($0, idJSON: idJSON)) }
            }
            return true
        default:
            return false
        }
    }

    /// A revocation stands between `box` and `phone`: whichever of them is connected here stops
    /// hearing of the other (whether or not the other is connected, here or anywhere).
    func stopHearing(_ box: String, _ phone: String) {
        if let boxConnection = switchboard.peer(for: box) { switchboard.unwatch(boxConnection, [phone]) }
        if let phoneConnection = switchboard.peer(for: phone) { switchboard.unwatch(phoneConnection, [box]) }
    }

    /// `{"to":"server","msg":"pairingCode"}` from a box: a single-use code and the URL its QR
    /// encodes; in a fleet, once every node can redeem it.
    private func pairingCode(for box: String, connection: Connection, idJSON: [UInt8]?) {
        guard let trust else { return connection.send(Reply(.malformed, "pairing codes need --auth token")) }
        guard trust.kind(of: box) != .phone else { return connection.send(Reply(.forbidden, "only a box hands out pairing codes", idJSON: idJSON)) }
        if let address = limitedAddress(of: connection), trust.pairingLimiter.admit(address, now: loop.now) != .allow {
            return connection.send(Reply(.rateLimited, "too many pairing codes; wait a moment", idJSON: idJSON))
        }
        let now = Trust.now()
        trust.codes.prune(now: now)
        let code = trust.codes.issue(box: box, now: now, ttlSeconds: config.pairingTTLSeconds)
        let url = PairingLink.url(box: box, code: code, publicURL: config.publicURL, host: trust.hosts[box])
            ?? "/remote?box=\(box)&code=\(code)"
        let data = "{\"code\":\"\(code)\",\"url\":\"\(jsonEscape(url))\",\"svg\":\"/pair/code/\(code).svg\","
            + "\"png\":\"/pair/code/\(code).png\",\"expires\":\(now + config.pairingTTLSeconds)}"
        let reply = Reply(.ok, "ok", dataJSON: data, idJSON: idJSON)
        guard let cluster else { return connection.send(reply) }
        cluster.issueCode(code, box: box, seconds: config.pairingTTLSeconds) { filed in
            guard connection.isOpen else { return }
            connection.send(filed ? reply : Server.clusterUnavailable(idJSON))
        }
    }

    /// Refuses a message to a device the sender may not message (status 4), before any lookup
    /// that would tell it whether that device is online. True when the message may go on.
    func authorize(_ envelope: Envelope, from sender: String, connection: Connection) -> Bool {
        guard let trust, envelope.to != "all", envelope.to != "server", !trust.mayMessage(sender, envelope.to, connection: ObjectIdentifier(connection)),
              DeviceID.isValid(envelope.to) else { return true }
        // Not here: whether its grant lists the sender is asked with the route (status 4 from there).
        if cluster != nil, switchboard.peer(for: envelope.to) == nil, !trust.revokedEitherWay(sender, envelope.to) { return true }
        connection.send(Reply(.forbidden, "not paired with \(envelope.to)", idJSON: envelope.idJSON))
        return false
    }

    /// Loop time at which device `id`'s token expires, if it has one.
    func tokenDeadline(of id: String) -> UInt64? {
        guard let expiry = trust?.expiries[id] else { return nil }
        let seconds = expiry - Trust.now()
        return seconds <= 0 ? loop.now : loop.now + UInt64(seconds) * 1000
    }

    /// A message from the server itself to a device: `{"from":"server","to":ID,"msg":...,"data":...}`.
    func notify(_ id: String, msg: String, dataJSON: String) -> Bool {
        let frame = "{\"from\":\"server\",\"to\":\"\(id)\",\"msg\":\"\(msg)\",\"data\":\(dataJSON)}"
        guard let peer = switchboard.peer(for: id) else {
            cluster?.tell(Array(frame.utf8), to: id)   // wherever in the fleet it is
            return false
        }
        Array(frame.utf8).withUnsafeBytes { peer.send(.text, $0) }
        return true
    }
}
