import Storage

/// Where kept messages live on a single server: in memory, or in memory and in SQLite under
/// --state-dir (the Redis-backed cluster store will answer the same interface).
enum KeptStores {
    static func open(_ config: ServerConfig, now: Int64) throws -> KeptMessageStore {
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
