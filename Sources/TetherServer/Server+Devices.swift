import Switchboard
import WebSocket

extension Server {
    /// Makes `connection` device `id`; a connection it replaces is closed with 4001.
    func register(_ connection: Connection, as id: String) {
        logger.debug("device connected", metadata: ["device": "\(id)", "peer": "\(connection.peerAddress ?? "-")"])
        if config.apiKey != nil { connectedSince[id] = Trust.now() }   // for GET /api/devices/ID
        if let replaced = switchboard.register(id, connection) {
            replaced.fail(.replaced, reason: "replaced")
        } else {
            connection.announcePending = switchboard.presence != .off
        }
        noteArrival(connection, as: id)
    }
}
