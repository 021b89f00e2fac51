@testable import Switchboard

final class FakeConnection: CustomStringConvertible, SwitchboardPeer {
    let name: String
    var deviceID: String?
    init(_ name: String) { self.name = name }
    var description: String { name }
}

func route(_ board: Switchboard<FakeConnection>, _ json: String, from id: String, _ peer: FakeConnection) -> Switchboard<FakeConnection>.Route {
    let bytes = Array(json.utf8)
    return bytes.withUnsafeBytes { raw in
        switch Envelope.scan(raw) {
        case .success(let envelope): return board.route(envelope, payload: raw, from: id, sender: peer)
        case .failure(.malformed(let why)): return .reply(Reply(.malformed, why, idJSON: Envelope.idJSON(of: raw)))
        }
    }
}

func replyText(_ route: Switchboard<FakeConnection>.Route) -> String? {
    if case .reply(let reply) = route { return String(decoding: reply.bytes, as: UTF8.self) }
    return nil
}

func deliveredTo(_ route: Switchboard<FakeConnection>.Route) -> FakeConnection? {
    if case .deliver(let peer) = route { return peer }
    return nil
}

/// Flattens a tick's presence into "recipient: event" lines for comparison.
func presenceLines(_ board: Switchboard<FakeConnection>, everyone: [FakeConnection]) -> [String] {
    switch board.takePresence() {
    case nil: return []
    case .everyone(let events)?:
        return everyone.flatMap { peer in events.map { "\(peer): \($0.device) \($0.online ? "online" : "offline")" } }
    case .individually(let list)?:
        return list.flatMap { entry in entry.events.map { "\(entry.peer): \($0.device) \($0.online ? "online" : "offline")" } }
    }
}
