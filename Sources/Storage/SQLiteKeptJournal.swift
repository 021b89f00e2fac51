#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CSQLite
import Glibc

/// Kept messages on disk: `kept.sqlite3` under the state directory, in WAL mode, one transaction
/// (and, with `Sync.full`, one sync) per loop tick however many messages it kept or removed.
///
/// The file is locked for this process alone: a second server on the same directory would
/// deliver the first one's messages after its restart, so it is refused at start.
public final class SQLiteKeptJournal: KeptJournal {
    public static let fileName = "kept.sqlite3"
    public let path: String

    private let connection: SQLiteConnection
    private let insert: SQLiteStatement
    /// Inserts (deletes) `batchRows` rows at once: a busy tick's keeps (deliveries) cost fewer statement runs.
    private let insertBatch: SQLiteStatement
    private static let batchRows = 32
    private let delete: SQLiteStatement
    private let deleteBatch: SQLiteStatement
    private let begin: SQLiteStatement
    private let end: SQLiteStatement
    private let rollback: SQLiteStatement
    /// What the next commit writes, in the order it happened (a message may be kept, taken and
    /// kept again within one tick).
    private enum Change {
        case add(KeptMessage, String)
        case remove(Int64)
    }
    private var changes: [Change] = []

    /// How a commit reaches the disk.
    public enum Sync: String, Sendable, CaseIterable {
        /// The write-ahead log is synced at every commit: what is committed survives a power loss.
        case full
        /// Synced only at checkpoints: what is committed survives the process being killed, not
        /// a power loss or an operating-system crash (those may take the last commits).
        case normal
    }

    /// Opens (creating if needed) the journal in `directory`.
    public init(directory: String, sync: Sync = .full) throws(StorageError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageError("could not create the directory \(directory): \(error)")
        }
        path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        // Kept messages are message contents at rest: readable by this user only (SQLite makes
        // its write-ahead log with the database file's permissions).
        let fresh = !FileManager.default.fileExists(atPath: path)
        connection = try SQLiteConnection(path: path)
        if fresh { chmod(path, 0o600) }
        do {
            // Exclusive locking: the lock is held from the first transaction to the close, and
            // the WAL index lives in this process's memory (no shared-memory file).
            try connection.execute("""
                PRAGMA locking_mode = EXCLUSIVE;
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = \(sync == .full ? "FULL" : "NORMAL");
                BEGIN EXCLUSIVE;
                CREATE TABLE IF NOT EXISTS kept(
                    sequence INTEGER PRIMARY KEY, recipient TEXT NOT NULL, sender TEXT NOT NULL,
                    id BLOB, expiry INTEGER NOT NULL, payload BLOB NOT NULL);
                COMMIT;
                """)
        } catch {
            if connection.lastErrorCode == SQLITE_BUSY || connection.lastErrorCode == SQLITE_LOCKED {
                throw StorageError("\(path) is in use by another process; give each tether process its own --state-dir")
            }
            throw error
        }
        let columns = "INSERT OR REPLACE INTO kept(sequence, recipient, sender, id, expiry, payload) VALUES"
        insert = try SQLiteStatement(columns + "(?, ?, ?, ?, ?, ?)", on: connection)
        insertBatch = try SQLiteStatement(columns + Array(repeating: "(?, ?, ?, ?, ?, ?)", count: Self.batchRows).joined(separator: ","),
                                          on: connection)
        delete = try SQLiteStatement("DELETE FROM kept WHERE sequence = ?", on: connection)
        deleteBatch = try SQLiteStatement("DELETE FROM kept WHERE sequence IN (" + Array(repeating: "?", count: Self.batchRows).joined(separator: ",") + ")",
                                          on: connection)
        begin = try SQLiteStatement("BEGIN", on: connection)
        end = try SQLiteStatement("COMMIT", on: connection)
        rollback = try SQLiteStatement("ROLLBACK", on: connection)
    }

    public func load() throws(StorageError) -> [(String, KeptMessage)] {
        let select = try SQLiteStatement("SELECT sequence, recipient, sender, id, expiry, payload FROM kept ORDER BY sequence",
                                         on: connection)
        var rows: [(String, KeptMessage)] = []
        try select.run { row in
            let payload = row.blob(at: 5) ?? UnsafeRawBufferPointer(start: nil, count: 0)
            let message = KeptMessage.make(payload: payload, sender: row.text(at: 2), idJSON: row.blob(at: 3).map(Array.init),
                                           expiry: row.int64(at: 4))
            message.sequence = row.int64(at: 0)
            rows.append((row.text(at: 1), message))
        }
        return rows
    }

    public func add(_ message: KeptMessage, for recipient: String) {
        changes.append(.add(message, recipient))
    }

    public func remove(_ message: KeptMessage) {
        changes.append(.remove(message.sequence))
    }

    public func commit() throws(StorageError) {
        guard !changes.isEmpty else { return }
        do {
            try begin.run()
            // Runs of additions and of removals, each written in batches, in the order they happened.
            var adds: [(KeptMessage, String)] = []
            var removes: [Int64] = []
            for change in changes {
                switch change {
                case .add(let message, let recipient):
                    try delete(removes)
                    removes.removeAll(keepingCapacity: true)
                    adds.append((message, recipient))
                    if adds.count == Self.batchRows {
                        try write(adds)
                        adds.removeAll(keepingCapacity: true)
                    }
                case .remove(let sequence):
                    try write(adds)
                    adds.removeAll(keepingCapacity: true)
                    removes.append(sequence)
                    if removes.count == Self.batchRows {
                        try delete(removes)
                        removes.removeAll(keepingCapacity: true)
                    }
                }
            }
            try write(adds)
            try delete(removes)
            try end.run()
        } catch {
            try? rollback.run()
            changes.removeAll { if case .add = $0 { true } else { false } }
            throw error
        }
        changes.removeAll(keepingCapacity: true)
    }

    /// Deletes the rows `sequences`: a full batch in one statement, fewer one by one.
    private func delete(_ sequences: [Int64]) throws(StorageError) {
        if sequences.count == Self.batchRows {
            for (index, sequence) in sequences.enumerated() { try deleteBatch.bind(sequence, at: Int32(index + 1)) }
            return try deleteBatch.run()
        }
        for sequence in sequences {
            try delete.bind(sequence, at: 1)
            try delete.run()
        }
    }

    /// Rows for `adds`, in order: a full batch in one statement, fewer one by one.
    private func write(_ adds: [(KeptMessage, String)]) throws(StorageError) {
        if adds.count != Self.batchRows && adds.count > 1 {
            for add in adds { try write([add]) }
            return
        }
        let statement = adds.count == Self.batchRows ? insertBatch : insert
        for (row, (message, recipient)) in adds.enumerated() {
            let first = Int32(row * 6)
            let (payload, sender, id) = message.parts   // bound in place: `adds` keeps the messages until the run
            try statement.bind(message.sequence, at: first + 1)
            try statement.bind(recipient, at: first + 2)
            try statement.bind(utf8: sender, at: first + 3)
            if let id { try statement.bind(blob: id, at: first + 4, inPlace: true) } else { try statement.bindNull(at: first + 4) }
            try statement.bind(message.expiry, at: first + 5)
            try statement.bind(blob: payload, at: first + 6, inPlace: true)
        }
        if !adds.isEmpty { try withExtendedLifetime(adds) { () throws(StorageError) in try statement.run() } }
    }

    public func close() {
        try? commit()
    }
}
