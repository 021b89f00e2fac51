import Auth
import Storage

/// Where token mode keeps revocations: a SQLite file under --state-dir, so an unpair holds
/// across restarts (the Redis-backed cluster will answer the same interface).
enum RevocationStores {
    static func open(directory: String) throws -> RevocationStore {
        try SQLiteRevocationStore(directory: directory)
    }
}
