import Cluster
import Switchboard

/// What the fleet tells this node, applied to its devices.
final class ClusterEvents: ClusterDelegate {
    unowned let server: Server

    init(server: Server) { self.server = server }

    func cluster(deliver payload: UnsafeRawBufferPointer, to device: String, from senderDevice: String, senderNode: String) {
        let switchboard = server.switchboard
        func answer(_ status: Status, _ message: String, online: Bool) {
            let idJSON = Envelope.idJSON(of: payload)   // only for the rare answer
            let reply = Reply(status, message, dataJSON: Reply.statusMap([(device, online)]), idJSON: idJSON)
            server.cluster?.answer(reply.bytes, to: senderDevice, on: senderNode)
        }
        guard let recipient = switchboard.peer(for: device), recipient.isOpen else {
            if server.keepArrivedLate(payload, senderNode: senderNode) { return }
            return answer(.targetOffline, "target offline", online: false)
        }
        if server.isBusy(recipient) { return answer(.recipientBusy, "recipient busy", online: true) }
        if switchboard.presence == .watchers { switchboard.watch(recipient, [senderDevice]) }
        // Presence read from the inbox ahead of this message goes first (the sender's online).
        if switchboard.hasPendingPresence { server.flushPresence() }
        server.handOver(payload, to: recipient)
    }

    func cluster(routed outcome: RouteOutcome, to device: String, sender: AnyObject, idJSON: [UInt8]?) {
        guard let connection = sender as? Connection else { return }
        server.answerRoute(outcome, to: device, connection: connection, idJSON: idJSON)
    }

    func cluster(presenceOf device: String, online: Bool) {
        // A device held here is announced by this node itself; the registry only echoes a race.
        guard server.switchboard.peer(for: device) == nil else { return }
        server.announcePresence(device, online: online)
    }

    func cluster(replaced device: String, serial: UInt64) {
        closeIfCurrent(device, serial)
    }

    func cluster(claimTaken device: String, serial: UInt64) {
        closeIfCurrent(device, serial)
    }

    private func closeIfCurrent(_ device: String, _ serial: UInt64) {
        guard server.clusterSerials[device] == serial, let connection = server.switchboard.peer(for: device) else {
            // Replaced before this node heard its own claim's answer: closed once admitted.
            if server.claimsInFlight[serial] != nil { server.claimsInFlight[serial] = true }
            return
        }
        connection.fail(.replaced, reason: "replaced")
    }

    func cluster(answer reply: [UInt8], to device: String) {
        guard let connection = server.switchboard.peer(for: device) else { return }
        reply.withUnsafeBytes { connection.send(.text, $0) }
    }

    func cluster(keptFor device: String) { server.takeAgain(for: device) }

    func cluster(_ device: String, mayHear lister: String) { server.fleetDevice(device, mayHear: lister) }

    func cluster(revoked box: String, phone: String, until: Int64) { server.fleetRevoked(box: box, phone: phone, until: until) }

    func cluster(lifted box: String, phone: String) { server.fleetLifted(box: box, phone: phone) }

    func cluster(disconnect device: String, reason: String) { _ = server.disconnect(device, reason: reason) }

    func clusterGrant(of device: String) -> [String]? {
        server.trust?.grants.grant(for: device).map { Array($0.peers) }
    }

    func cluster(available: Bool) {
        server.logger.warning(available ? "cluster link up" : "cluster link down: routing among this node's own devices only")
    }

    func clusterLocalDevices() -> [(device: String, serial: UInt64)] {
        server.clusterSerials.compactMap { server.switchboard.peer(for: $0.key) == nil ? nil : ($0.key, $0.value) }
    }

    func clusterWatchedDevices() -> [String] { Array(server.switchboard.watchedDevices) }

    func cluster(checked device: String, online: Bool, when: WatchCheck) {
        guard server.switchboard.isWatched(device), server.switchboard.peer(for: device) == nil else { return }
        guard let known = server.presenceKnown[device] else {
            server.presenceKnown[device] = online
            return
        }
        switch when {
        case .firstWatch: break   // its watchers learned its state from their own query
        case .reconnect: if online && !known { server.announcePresence(device, online: true) }
        case .settled: if online != known { server.announcePresence(device, online: online) }
        }
    }
}
