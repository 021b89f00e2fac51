import Cluster
import Storage

/// Where kept messages live: on a single server in memory, or in memory and in SQLite under
/// --state-dir; in a cluster in the fleet's Redis.
enum KeptStores {
    static func open(_ config: ServerConfig, cluster: ClusterNode?, now: Int64) throws -> KeptMessageStore {
        if let cluster { return ClusterKeptStore(node: cluster) }
        let limits = KeptLimits(messagesPerRecipient: config.offlineMaxMessages, bytesPerRecipient: config.offlineMaxBytes,
                                totalBytes: config.offlineMaxTotalBytes)
        switch config.offlineStore {
        case .memory: return LocalKeptStore(limits: limits)
        case .sqlite:
            let journal = try SQLiteKeptJournal(directory: config.stateDirectory, sync: config.offlineSyncFull ? .full : .normal)
            return try LocalKeptStore(limits: limits, journal: journal, now: now)
        }
    }
}
