import Console
import Switchboard
import WebSocket

extension Server {
    /// Makes `connection` device `id`; a connection it replaces is closed with 4001.
    func register(_ connection: Connection, as id: String) {
        if logsDebug { logger.debug("device connected", metadata: ["device": "\(id)", "peer": "\(connection.peerAddress ?? "-")"]) }
        if let replaced = switchboard.register(id, connection) {
            deviceLeft(id, code: CloseCode.replaced.rawValue, reason: "replaced")
            replaced.fail(.replaced, reason: "replaced")
        } else {
            connection.announcePending = switchboard.presence != .off
        }
        noteArrival(connection, as: id)
    }

    /// Device `id` is connected and, in token mode, its token admitted (its kind is known).
    func deviceArrived(_ id: String, _ connection: Connection) {
        metrics.deviceConnects += 1
        guard ledger != nil else { return }   // kept for the API and the console only
        ledger!.arrive(id, as: DeviceClass(kind: trust?.kind(of: id)?.rawValue, id: id), now: Trust.now())
        console?.record(.connect, device: id, detail: connection.peerAddress ?? "")
    }

    /// Device `id`'s current connection ended with `code` (1006 when no close frame was exchanged).
    func deviceLeft(_ id: String, code: UInt16, reason: String) {
        metrics.countDisconnect(code: code)
        ledger?.leave(id)
        console?.record(.disconnect, device: id, code: code, detail: reason)
    }

    /// An operator's kick (the API or the console): close 4002 with `reason`. False when `id` is not connected.
    func disconnect(_ id: String, reason: String) -> Bool {
        guard let peer = switchboard.peer(for: id) else { return false }
        console?.record(.kick, device: id, detail: reason)
        peer.fail(.disconnectedByOperator, reason: reason)
        return true
    }
}
