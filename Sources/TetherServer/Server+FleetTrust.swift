import Auth
import Cluster
import Switchboard

/// Token mode in a fleet: each connected device's grant is filed in Redis (so another node can
/// ask whether a recipient there lists a sender), devices that list one another hear of each
/// other across nodes, and revocations reach every node's copy.
extension Server {
    /// Files the grant of `id` (just admitted on `connection`); devices elsewhere that list it
    /// are watched by it, as local ones are by `presenceView`.
    func publishGrant(_ connection: Connection, _ id: String, _ claims: TokenClaims) {
        guard let cluster, let trust, let serial = clusterSerials[id] else { return }
        cluster.publishGrant(id, serial: serial, peers: claims.peers) { [unowned self] listers in
            guard let listers, connection.isOpen, switchboard.peer(for: id) === connection else { return }
            let heard = listers.filter { $0 != id && switchboard.peer(for: $0) == nil && !trust.revokedEitherWay(id, $0) }
            if !heard.isEmpty { switchboard.watch(connection, heard) }
        }
    }

    /// `lister`, just admitted elsewhere, lists `device` (here) or is listed by it: `device`
    /// hears of it from now on, starting with its online (it missed the announcement, which went
    /// out before it watched).
    func fleetDevice(_ device: String, mayHear lister: String) {
        guard let trust, let connection = switchboard.peer(for: device), connection.isOpen,
              !trust.revokedEitherWay(device, lister), !switchboard.watches(connection, lister) else { return }
        switchboard.watch(connection, [lister])
        Array(PresenceEvent(device: lister, online: true).json.utf8).withUnsafeBytes { connection.send(.text, $0) }
    }

    /// A revocation filed on another node: this node's copy, its cached permissions, and who hears whom here.
    func fleetRevoked(box: String, phone: String, until: Int64) {
        guard let trust, let revocations = trust.revocations as? FleetRevocationStore else { return }
        revocations.heard(revoked: box, phone: phone, until: until)
        trust.recentPermissions.invalidate()
        stopHearing(box, phone)
    }

    func fleetLifted(box: String, phone: String) {
        guard let revocations = trust?.revocations as? FleetRevocationStore else { return }
        revocations.heard(lifted: box, phone: phone)
    }

    /// Of `ids`, those device `id` may ask about and message: its own grant or a local one
    /// answers here; for the rest, in a fleet, whether their grant lists it. Nil when the fleet
    /// could not be asked.
    func permittedIDs(_ ids: [String], for id: String, _ done: @escaping ([String]?) -> Void) {
        guard let trust else { return done(ids) }
        let valid = ids.filter(DeviceID.isValid)
        let allowedHere = Set(valid.filter { trust.mayMessage(id, $0) })
        let askFleet = valid.filter { !allowedHere.contains($0) && switchboard.peer(for: $0) == nil && !trust.revokedEitherWay(id, $0) }
        guard let cluster, !askFleet.isEmpty else { return done(valid.filter(allowedHere.contains)) }
        cluster.listing(id, in: askFleet) { listed in
            guard let listed else { return done(nil) }
            let allowedThere = Set(zip(askFleet, listed).filter(\.1).map(\.0))
            done(valid.filter { allowedHere.contains($0) || allowedThere.contains($0) })
        }
    }
}
