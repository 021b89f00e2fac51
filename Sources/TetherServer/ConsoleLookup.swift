import Auth
import Console
import Pairing
import Switchboard
import WebSocket

/// The console's device lookup: what the server knows of one id, and a pairing QR for a box.
enum ConsoleLookup {
    /// `GET /api/console/devices/ID`: online or offline and since when, node, class and token
    /// kind, paired peers (token mode, while connected), queued bytes, the last disconnect.
    static func device(_ id: String, server: Server) -> HTTPResponse {
        if let problem = DeviceID.problem(with: id) { return .json(400, HTTPRoutes.text(Reply(.malformed, problem))) }
        var fields = ["\"id\":\"\(jsonEscape(id))\""]
        let node = server.console?.cluster?.node(of: id)
        if let peer = server.switchboard.peer(for: id) {
            let arrival = server.ledger?.arrival(of: id)
            fields.append("\"online\":true")
            fields.append("\"since\":\(arrival?.since ?? 0)")
            fields.append("\"class\":\"\((arrival?.deviceClass ?? DeviceClass(kind: nil, id: id)).name)\"")
            if let kind = server.trust?.kind(of: id) { fields.append("\"kind\":\"\(kind.rawValue)\"") }
            fields.append("\"address\":\"\(jsonEscape(peer.peerAddress ?? ""))\"")
            fields.append("\"queued_bytes\":\(peer.queuedBytes)")
            fields.append("\"node\":\"\(jsonEscape(node ?? "this node"))\"")
            fields.append("\"peers\":\(peersJSON(of: id, server: server))")
        } else {
            fields.append("\"online\":\(node != nil)")   // a node named: online there
            fields.append("\"class\":\"\(DeviceClass(kind: nil, id: id).name)\"")
            fields.append("\"node\":" + (node.map { "\"\(jsonEscape($0))\"" } ?? "null"))
            if let last = server.console?.events.lastDisconnect(of: id) {
                fields.append("\"since\":\(last.time / 1000)")
                fields.append("\"last_disconnect\":\(last.json)")
            }
        }
        let held = server.kept.holding(for: id)
        fields.append("\"kept\":{\"messages\":\(held.messages),\"bytes\":\(held.bytes)}")
        return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: "{" + fields.joined(separator: ",") + "}")),
                     headers: [("Cache-Control", "no-store")])
    }

    /// Token mode: the ids the device's token names and the connected devices whose tokens name
    /// it. Open mode has no pairing: null.
    private static func peersJSON(of id: String, server: Server) -> String {
        guard let trust = server.trust else { return "null" }
        let peers = (trust.grants.grant(for: id)?.peers ?? []).union(trust.devicesListing(id)).sorted()
        return "[" + peers.map { "\"\(jsonEscape($0))\"" }.joined(separator: ",") + "]"
    }

    /// `POST /api/console/devices/ID/pairing`: the QR that pairs a phone with box ID. In open
    /// mode it is the box's fixed QR; in token mode a fresh single-use code is issued for it, as
    /// the box itself would ask for one.
    static func pairing(_ box: String, head: HTTPRequestHead, server: Server) -> HTTPResponse {
        if let problem = DeviceID.problem(with: box) { return .json(400, HTTPRoutes.text(Reply(.malformed, problem))) }
        guard let trust = server.trust else {
            return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: "{\"svg\":\"/pair/\(box).svg\"}")))
        }
        guard trust.kind(of: box) != .phone else { return .json(400, HTTPRoutes.text(Reply(.malformed, "\(box) is a phone"))) }
        let now = Trust.now()
        trust.codes.prune(now: now)
        let code = trust.codes.issue(box: box, now: now, ttlSeconds: server.config.pairingTTLSeconds)
        server.cluster?.issueCode(code, box: box, seconds: server.config.pairingTTLSeconds)
        let url = PairingLink.url(box: box, code: code, publicURL: server.config.publicURL, host: head.header("host")) ?? ""
        let data = "{\"svg\":\"/pair/code/\(code).svg\",\"url\":\"\(jsonEscape(url))\",\"expires\":\(now + server.config.pairingTTLSeconds)}"
        return .json(200, HTTPRoutes.text(Reply(.ok, "ok", dataJSON: data)))
    }
}
