import Cluster
import Redis
import Storage
import Testing
import UV

/// A suite whose nodes share one loop and one real redis-server: how the cluster tests start a
/// node and claim a device.
protocol FleetSuite {
    var loop: Loop { get }
    var redis: RedisServer { get }
}

extension FleetSuite {
    /// A started node whose link is up, with what it tells its server recorded.
    func node(lease: UInt64 = 10_000, inboxMax: Int = 100_000, limits: KeptLimits = KeptLimits()) throws -> (ClusterNode, RecordingServer) {
        var options = ClusterOptions(url: RedisURL(host: "127.0.0.1", port: redis.port), presence: "watchers", advertisedAddress: "test")
        options.leaseMilliseconds = lease
        options.inboxMaxEntries = inboxMax
        options.keptLimits = limits
        let node = try ClusterNode(loop: loop, options: options)
        let server = RecordingServer()
        node.delegate = server
        node.start()
        #expect(spin(loop) { node.isAvailable })
        return (node, server)
    }

    @discardableResult
    func claim(_ node: ClusterNode, _ device: String, _ serial: UInt64) -> ClaimOutcome? {
        var outcome: ClaimOutcome?
        node.claim(device, serial: serial) { outcome = $0 }
        spin(loop) { outcome != nil }
        return outcome
    }
}
