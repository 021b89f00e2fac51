/// One node of the fleet as the registry sees it (for operators: the console's node rows).
public struct FleetNode: Equatable, Sendable {
    public var id: String
    /// Its listening address, as its lease says; nil once the lease lapsed.
    public var address: String?
    /// Devices the registry gives it.
    public var devices: Int
    /// Messages it has routed (to and from other nodes) since it started, as of its last renewal.
    public var routed: UInt64
    /// Milliseconds since it last renewed its lease; nil once the lease lapsed.
    public var leaseAgeMilliseconds: UInt64?
    /// Its lease is alive.
    public var isUp: Bool { leaseAgeMilliseconds != nil }

    public init(id: String, address: String?, devices: Int, routed: UInt64, leaseAgeMilliseconds: UInt64?) {
        self.id = id
        self.address = address
        self.devices = devices
        self.routed = routed
        self.leaseAgeMilliseconds = leaseAgeMilliseconds
    }

    /// A lease's value: `<address> <routed>`.
    static func leaseValue(address: String, routed: UInt64) -> String { "\(address) \(routed)" }
}
