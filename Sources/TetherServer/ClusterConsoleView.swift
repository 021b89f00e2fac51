import Cluster
import Console

/// The console's node table and device lookups, answered from the fleet's registry. The console
/// asks synchronously; Redis answers a round trip later, so the table is last second's answer
/// (asked again each time), and a lookup's holder is fetched before the lookup is answered.
final class ClusterConsoleView: ClusterView {
    private let node: ClusterNode
    private var rows: [NodeRow] = []
    private var lastRouted: [String: (routed: UInt64, at: Int64)] = [:]
    private var asking = false
    private var holders: [String: String] = [:]

    init(node: ClusterNode) { self.node = node }

    func nodeRows(now: Int64) -> [NodeRow] {
        if !asking {
            asking = true
            node.fleet { [weak self] fleet in
                guard let self else { return }
                asking = false
                if let fleet { rows = fleet.map { row(for: $0, now: now) } }
            }
        }
        return rows
    }

    private func row(for fleetNode: FleetNode, now: Int64) -> NodeRow {
        var rate = 0.0
        if let last = lastRouted[fleetNode.id], now > last.at, fleetNode.routed >= last.routed {
            rate = Double(fleetNode.routed - last.routed) / Double(now - last.at)
        }
        if lastRouted[fleetNode.id]?.at != now { lastRouted[fleetNode.id] = (fleetNode.routed, now) }
        if lastRouted.count > 4 * max(rows.count, 16) { lastRouted = [:] }   // nodes long gone
        return NodeRow(id: fleetNode.id, address: fleetNode.address ?? "-", devices: fleetNode.devices, messagesPerSecond: rate,
                       leaseAgeSeconds: Double(fleetNode.leaseAgeMilliseconds ?? 0) / 1000, up: fleetNode.isUp)
    }

    func node(of id: String) -> String? { holders[id] }

    /// Fetches the node `id` is on, for the lookup that follows.
    func refreshHolder(of id: String, _ done: @escaping () -> Void) {
        node.holder(of: id) { [weak self] holder in
            self?.holders = holder.map { [id: $0] } ?? [:]
            done()
        }
    }
}
