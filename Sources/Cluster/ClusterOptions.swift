import Redis
import Storage

/// How a node joins its fleet.
public struct ClusterOptions: Sendable {
    /// The Redis primary that holds the registry.
    public var url: RedisURL
    /// `all`, `watchers` or `off`: which nodes hear a device's events (the server's presence mode).
    public var presence: String
    /// A node silent this long is dead: its devices are announced offline by another node.
    /// Renewed every fifth of it; the sweep for dead nodes runs as often. Default 10 s.
    public var leaseMilliseconds: UInt64 = 10_000
    /// Entries a node's inbox may hold before senders get status 5. Default 100,000.
    public var inboxMaxEntries = 100_000
    /// Bounds on messages kept for offline devices, fleet-wide (checked inside Redis).
    public var keptLimits = KeptLimits()
    /// What the node's lease says about it (its listening address), for operators.
    public var advertisedAddress: String

    public init(url: RedisURL, presence: String, advertisedAddress: String) {
        self.url = url
        self.presence = presence
        self.advertisedAddress = advertisedAddress
    }
}
