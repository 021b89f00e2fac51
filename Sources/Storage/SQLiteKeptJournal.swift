#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CSQLite

/// Kept messages on disk: `kept.sqlite3` under the state directory, in WAL mode, one transaction
/// (and one sync) per loop tick however many messages it kept or removed.
///
/// The file is locked for this process alone: a second server on the same directory would
/// deliver the first one's messages after its restart, so it is refused at start.
public final class SQLiteKeptJournal: KeptJournal {
    public static let fileName = "kept.sqlite3"
    public let path: String

    private let connection: SQLiteConnection
    private let insert: SQLiteStatement
    private let delete: SQLiteStatement
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

    /// Opens (creating if needed) the journal in `directory`.
    public init(directory: String) throws(StorageError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageError("could not create the directory \(directory): \(error)")
        }
        path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        connection = try SQLiteConnection(path: path)
        do {
            // Exclusive locking: the lock is held from the first transaction to the close, and
            // the WAL index lives in this process's memory (no shared-memory file).
            try connection.execute("""
                PRAGMA locking_mode = EXCLUSIVE;
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
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
        insert = try SQLiteStatement("INSERT OR REPLACE INTO kept(sequence, recipient, sender, id, expiry, payload) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                                     on: connection)
        delete = try SQLiteStatement("DELETE FROM kept WHERE sequence = ?1", on: connection)
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
            for change in changes {
                switch change {
                case .add(let message, let recipient): try write(message, for: recipient)
                case .remove(let sequence):
                    try delete.bind(sequence, at: 1)
                    try delete.run()
                }
            }
            try end.run()
        } catch {
            try? rollback.run()
            changes.removeAll { if case .add = $0 { true } else { false } }
            throw error
        }
        changes.removeAll(keepingCapacity: true)
    }

    private func write(_ message: KeptMessage, for recipient: String) throws(StorageError) {
        try insert.bind(message.sequence, at: 1)
        try insert.bind(recipient, at: 2)
        try insert.bind(message.sender, at: 3)
        if let id = message.idJSON {
            try id.withUnsafeBytes { bytes in Result { () throws(StorageError) in try insert.bind(blob: bytes, at: 4) } }.get()
        } else {
            try insert.bindNull(at: 4)
        }
        try insert.bind(message.expiry, at: 5)
        try message.withPayload { bytes in Result { () throws(StorageError) in try insert.bind(blob: bytes, at: 6) } }.get()
        try insert.run()
    }

    public func close() {
        try? commit()
    }
}
