import Switchboard

/// One node of a cluster as the console lists it.
public struct NodeRow: Sendable, Equatable {
    public var id: String
    public var address: String
    public var devices: Int
    public var messagesPerSecond: Double
    /// Seconds since the node last renewed its lease.
    public var leaseAgeSeconds: Double
    /// False once its lease has lapsed (the node is gone).
    public var up: Bool

    public init(id: String, address: String, devices: Int, messagesPerSecond: Double, leaseAgeSeconds: Double, up: Bool) {
        self.id = id
        self.address = address
        self.devices = devices
        self.messagesPerSecond = messagesPerSecond
        self.leaseAgeSeconds = leaseAgeSeconds
        self.up = up
    }

    public var json: String {
        "{\"id\":\"\(jsonEscape(id))\",\"address\":\"\(jsonEscape(address))\",\"devices\":\(devices),"
            + "\"msgs\":\(ConsoleSample.decimal(messagesPerSecond)),\"lease_age\":\(ConsoleSample.decimal(leaseAgeSeconds)),"
            + "\"up\":\(up)}"
    }
}

/// What the console asks of a cluster: the hook the cluster layer fills in (docs/cluster.md).
/// A single node has none, and the console then shows no node table.
public protocol ClusterView: AnyObject {
    /// Every node known to the registry, this one included; asked once a second while a console is open.
    func nodeRows(now: Int64) -> [NodeRow]
    /// The node device `id` is connected to, if the registry knows it.
    func node(of id: String) -> String?
}
