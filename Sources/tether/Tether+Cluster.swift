import ArgumentParser
import TetherServer

extension Tether {
    /// `--cluster`, its lease and inbox cap, and `--reuse-port`.
    func resolveCluster(_ env: EnvironmentOptions, into config: inout ServerConfig) throws {
        config.reusePort = try reusePort ?? env.bool("REUSE_PORT") ?? config.reusePort
        guard let url = cluster ?? env.string("CLUSTER") else { return }
        guard Server.isValidClusterURL(url) else {
            throw ValidationError("--cluster must be redis://host:port[/db] with an IP address or localhost, not \(url)")
        }
        config.clusterURL = url
        config.clusterLeaseMilliseconds = try milliseconds("cluster-lease-seconds", clusterLeaseSeconds, env, "CLUSTER_LEASE_SECONDS")
            ?? config.clusterLeaseMilliseconds
        config.clusterInboxMax = try checked("cluster-inbox-max", clusterInboxMax, in: 1...100_000_000)
            ?? env.int("CLUSTER_INBOX_MAX", in: 1...100_000_000) ?? config.clusterInboxMax
    }
}
