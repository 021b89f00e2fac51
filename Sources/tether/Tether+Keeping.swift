import ArgumentParser
import TetherServer

extension Tether {
    /// Kept messages for offline devices: the ttl range and default, the bounds, the store.
    func resolveKeeping(_ env: EnvironmentOptions, into config: inout ServerConfig) throws {
        func value(_ name: String, _ flag: Int?, _ envName: String, in range: ClosedRange<Int>) throws -> Int? {
            if let flag {
                guard range.contains(flag) else { throw ValidationError("--\(name) must be in \(range.lowerBound)...\(range.upperBound)") }
                return flag
            }
            return try env.int(envName, in: range)
        }
        let week = 7 * 86_400
        config.maxOfflineTTLSeconds = try value("max-offline-ttl", maxOfflineTtl, "MAX_OFFLINE_TTL", in: 1...week) ?? config.maxOfflineTTLSeconds
        config.offlineTTLSeconds = try value("offline-ttl", offlineTtl, "OFFLINE_TTL", in: 0...week) ?? config.offlineTTLSeconds
        guard config.offlineTTLSeconds <= config.maxOfflineTTLSeconds else {
            throw ValidationError("--offline-ttl \(config.offlineTTLSeconds) is longer than --max-offline-ttl \(config.maxOfflineTTLSeconds)")
        }
        config.offlineMaxMessages = try value("offline-max-messages", offlineMaxMessages, "OFFLINE_MAX_MESSAGES", in: 0...1_000_000)
            ?? config.offlineMaxMessages
        config.offlineMaxBytes = try value("offline-max-bytes", offlineMaxBytes, "OFFLINE_MAX_BYTES", in: 0...(1 << 30)) ?? config.offlineMaxBytes
        config.offlineMaxTotalBytes = try value("offline-max-total-bytes", offlineMaxTotalBytes, "OFFLINE_MAX_TOTAL_BYTES", in: 0...(1 << 40))
            ?? config.offlineMaxTotalBytes
        if let kind = offlineStore ?? env.string("OFFLINE_STORE") {
            guard let parsed = OfflineStoreKind(rawValue: kind) else { throw ValidationError("offline store must be sqlite or memory, not \(kind)") }
            config.offlineStore = parsed
        }
        if let sync = offlineSync ?? env.string("OFFLINE_SYNC") {
            guard sync == "full" || sync == "normal" else { throw ValidationError("offline sync must be full or normal, not \(sync)") }
            config.offlineSyncFull = sync == "full"
        }
    }
}
