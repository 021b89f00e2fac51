#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Auth

/// A `RevocationStore` kept in SQLite, so revocations survive restarts.
///
/// Every revocation is also held in memory, so `isRevoked` (asked per message)
/// never touches the disk; `revoke`, `prune` and `lift` write through before returning.
public final class SQLiteRevocationStore: RevocationStore {
    private struct Pair: Hashable {
        let box: String
        let phone: String
    }

    /// The database file's name inside the store's directory.
    public static let fileName = "revocations.sqlite3"

    /// The database file this store reads and writes.
    public let path: String

    private let connection: SQLiteConnection
    private let upsert: SQLiteStatement
    private let deleteExpired: SQLiteStatement
    private let deletePair: SQLiteStatement
    private var expiries: [Pair: Int64] = [:]

    /// Opens the store in `directory` (created if missing) and loads every revocation it holds.
    public init(directory: String) throws(StorageError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageError("could not create the directory \(directory): \(error)")
        }
        path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        connection = try SQLiteConnection(path: path)
        // Revocations are rare, so pay for a sync per commit: a revocation is never lost to a crash.
        try connection.execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS revocations(
                box TEXT NOT NULL, phone TEXT NOT NULL, expiry INTEGER NOT NULL, PRIMARY KEY(box, phone));
            """)
        upsert = try SQLiteStatement("""
            INSERT INTO revocations(box, phone, expiry) VALUES(?1, ?2, ?3)
            ON CONFLICT(box, phone) DO UPDATE SET expiry = max(expiry, excluded.expiry)
            """, on: connection)
        deleteExpired = try SQLiteStatement("DELETE FROM revocations WHERE expiry < ?1", on: connection)
        deletePair = try SQLiteStatement("DELETE FROM revocations WHERE box = ?1 AND phone = ?2", on: connection)
        try loadAll()
    }

    /// How many revocations are held.
    public var count: Int { expiries.count }

    /// Whether `box` has revoked `phone`; answered from memory.
    public func isRevoked(box: String, phone: String) -> Bool {
        // Usually nothing is revoked; then skip hashing two strings per message.
        !expiries.isEmpty && expiries[Pair(box: box, phone: phone)] != nil
    }

    /// Records the revocation on disk; revoking again keeps the later expiry.
    public func revoke(box: String, phone: String, until expiry: Int64) throws(StorageError) {
        let pair = Pair(box: box, phone: phone)
        // Applied in memory even if the write fails: an unpaired phone must lose access now.
        expiries[pair] = max(expiries[pair] ?? .min, expiry)
        try upsert.bind(box, at: 1)
        try upsert.bind(phone, at: 2)
        try upsert.bind(expiry, at: 3)
        try upsert.run()
    }

    /// Drops revocations whose expiry is before `now`, on disk and then in memory.
    public func prune(now: Int64) throws(StorageError) {
        try deleteExpired.bind(now, at: 1)
        try deleteExpired.run()
        expiries = expiries.filter { $0.value >= now }
    }

    /// Forgets the revocation (the two paired again), on disk and then in memory.
    public func lift(box: String, phone: String) throws(StorageError) {
        // Disk first: if the delete fails the revocation stays in force, the safe side.
        try deletePair.bind(box, at: 1)
        try deletePair.bind(phone, at: 2)
        try deletePair.run()
        expiries[Pair(box: box, phone: phone)] = nil
    }

    private func loadAll() throws(StorageError) {
        let select = try SQLiteStatement("SELECT box, phone, expiry FROM revocations", on: connection)
        try select.run { row in
            expiries[Pair(box: row.text(at: 0), phone: row.text(at: 1))] = row.int64(at: 2)
        }
    }
}
