import Auth
import Cluster
import Storage

/// Where token mode keeps revocations: a SQLite file under --state-dir, so an unpair holds
/// across restarts; in a cluster, Redis (FleetRevocationStore).
enum RevocationStores {
    static func open(directory: String, cluster: ClusterNode?) throws -> RevocationStore {
        if let cluster { return FleetRevocationStore(cluster: cluster) }
        return try SQLiteRevocationStore(directory: directory)
    }
}

/// Revocations of a fleet: filed in Redis, which tells every node; each node answers from its
/// copy in memory, since the question is asked per message. A node reads them all again at
/// each link up (what was filed while it could not hear).
final class FleetRevocationStore: RevocationStore {
    private let copy = MemoryRevocationStore()
    private unowned let cluster: ClusterNode

    init(cluster: ClusterNode) { self.cluster = cluster }

    func isRevoked(box: String, phone: String) -> Bool { copy.isRevoked(box: box, phone: phone) }

    /// Refused (thrown) while Redis is away: an unpair must hold on every node or be retried.
    func revoke(box: String, phone: String, until expiry: Int64) throws {
        guard cluster.revoke(box: box, phone: phone, until: expiry) else { throw FleetUnavailable() }
        copy.revoke(box: box, phone: phone, until: expiry)
    }

    func lift(box: String, phone: String) throws {
        guard cluster.lift(box: box, phone: phone) else { throw FleetUnavailable() }
        copy.lift(box: box, phone: phone)
    }

    func prune(now: Int64) { copy.prune(now: now) }

    /// Another node filed or lifted one.
    func heard(revoked box: String, phone: String, until: Int64) { copy.revoke(box: box, phone: phone, until: until) }
    func heard(lifted box: String, phone: String) { copy.lift(box: box, phone: phone) }
}

struct FleetUnavailable: Error, CustomStringConvertible {
    var description: String { "the fleet's Redis cannot be reached" }
}
