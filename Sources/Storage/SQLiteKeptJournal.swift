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
/// A tick's kept messages go into one row (`kept_rows`: their records back to back in a blob,
/// `JournalRecords`), not a row each: a busy tick costs SQLite one insert. A delivered or expired
/// message is marked (`kept_gone`, its sequence); a row whose records are all marked is deleted
/// with its marks. So the file holds at most each live message's row: a message kept for the
/// longest ttl keeps the rest of its tick's row on disk until it goes (disk, never memory).
///
/// The file is locked for this process alone: a second server on the same directory would
/// deliver the first one's messages after its restart, so it is refused at start.
public final class SQLiteKeptJournal: KeptJournal {
    public static let fileName = "kept.sqlite3"
    public let path: String

    private let connection: SQLiteConnection
    private let insertRow: SQLiteStatement
    private let deleteRow: SQLiteStatement
    private let mark: SQLiteStatement
    /// Marks `batchMarks` removals at once: a busy tick's deliveries cost fewer statement runs.
    private let markBatch: SQLiteStatement
    private static let batchMarks = 32
    private let unmark: SQLiteStatement
    private let unmarkRange: SQLiteStatement
    private let begin: SQLiteStatement
    private let end: SQLiteStatement
    private let rollback: SQLiteStatement
    /// What the next commit writes, in the order it happened (a message may be kept, taken and
    /// kept again within one tick).
    private enum Change {
        case add(KeptMessage, String, promised: Bool)
        /// A new message whose record is already in `blob`.
        case new(Int64)
        case remove(Int64)
    }
    private var changes: [Change] = []
    private var rows = JournalRows()
    /// Rows read at start with nothing live in them, deleted by the first commit.
    private var emptyAtLoad: [(tick: Int64, row: JournalRows.Row)] = []
    /// The current tick's records (new messages' as they come, the rest during the commit), and
    /// its removals not yet marked.
    private let blob = RecordBuffer()
    private var marks: [Int64] = []
    /// A file written by the earlier format (a row per message) is moved into this one by the first commit.
    private var legacyTable: Bool

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
                CREATE TABLE IF NOT EXISTS kept_rows(
                    tick INTEGER PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL, records BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS kept_gone(sequence INTEGER PRIMARY KEY);
                COMMIT;
                """)
        } catch {
            if connection.lastErrorCode == SQLITE_BUSY || connection.lastErrorCode == SQLITE_LOCKED {
                throw StorageError("\(path) is in use by another process; give each tether process its own --state-dir")
            }
            throw error
        }
        var legacy = false
        try SQLiteStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kept'", on: connection).run { _ in legacy = true }
        legacyTable = legacy
        insertRow = try SQLiteStatement("INSERT INTO kept_rows(tick, first, last, records) VALUES(?, ?, ?, ?)", on: connection)
        deleteRow = try SQLiteStatement("DELETE FROM kept_rows WHERE tick = ?", on: connection)
        let marking = "INSERT OR IGNORE INTO kept_gone(sequence) VALUES"
        mark = try SQLiteStatement(marking + "(?)", on: connection)
        markBatch = try SQLiteStatement(marking + Array(repeating: "(?)", count: Self.batchMarks).joined(separator: ","), on: connection)
        unmark = try SQLiteStatement("DELETE FROM kept_gone WHERE sequence = ?", on: connection)
        unmarkRange = try SQLiteStatement("DELETE FROM kept_gone WHERE sequence BETWEEN ? AND ?", on: connection)
        begin = try SQLiteStatement("BEGIN", on: connection)
        end = try SQLiteStatement("COMMIT", on: connection)
        rollback = try SQLiteStatement("ROLLBACK", on: connection)
    }

    public func load() throws(StorageError) -> [(String, KeptMessage)] {
        var gone = Set<Int64>()
        try SQLiteStatement("SELECT sequence FROM kept_gone", on: connection).run { gone.insert($0.int64(at: 0)) }
        var found: [Int64: (String, KeptMessage)] = [:]
        var unreadable: StorageError?
        try SQLiteStatement("SELECT tick, first, last, records FROM kept_rows ORDER BY tick", on: connection).run { row in
            var records: [(sequence: Int64, live: Bool)] = []
            do throws(StorageError) {
                try JournalRecords.forEach(in: row.blob(at: 3) ?? UnsafeRawBufferPointer(start: nil, count: 0)) { recipient, message in
                    let live = !gone.contains(message.sequence)
                    records.append((message.sequence, live))
                    if live { found[message.sequence] = (recipient, message) }
                }
            } catch {
                unreadable = error
            }
            rows.load(tick: row.int64(at: 0), first: row.int64(at: 1), last: row.int64(at: 2), records: records)
        }
        if let unreadable { throw unreadable }
        rows.finishLoading()
        emptyAtLoad = rows.emptyRows
        if legacyTable {
            let select = try SQLiteStatement("SELECT sequence, recipient, sender, id, expiry, payload FROM kept ORDER BY sequence",
                                             on: connection)
            try select.run { row in
                let payload = row.blob(at: 5) ?? UnsafeRawBufferPointer(start: nil, count: 0)
                let message = KeptMessage.make(payload: payload, sender: row.text(at: 2), idJSON: row.blob(at: 3).map(Array.init),
                                               expiry: row.int64(at: 4))
                message.sequence = row.int64(at: 0)
                found[message.sequence] = (row.text(at: 1), message)
                changes.append(.add(message, row.text(at: 1), promised: true))
            }
        }
        return found.sorted { $0.key < $1.key }.map(\.value)
    }

    public var unusedSequence: Int64 { rows.lastWritten + 1 }

    public func add(_ message: KeptMessage, for recipient: String, promised: Bool) {
        changes.append(.add(message, recipient, promised: promised))
    }

    public func addNew(_ parts: KeptParts, for recipient: String) {
        // A new number is above every row's: its record goes into the next commit's row whatever
        // else that commit writes, so it is written now, from the bytes where they are.
        JournalRecords.append(parts, for: recipient, to: blob)
        changes.append(.new(parts.sequence))
    }

    public func remove(_ message: KeptMessage) {
        changes.append(.remove(message.sequence))
    }

    public func commit() throws(StorageError) {
        guard !changes.isEmpty || !emptyAtLoad.isEmpty || legacyTable else { return }
        do throws(StorageError) {
            try begin.run()
            rows.begin()
            marks.removeAll(keepingCapacity: true)
            for (tick, row) in emptyAtLoad {
                rows.delete(tick, row)
                try erase(tick, row)
            }
            for change in changes { try write(change) }
            try flushMarks()
            let tick = rows.tick
            switch rows.finish() {
            case .write(let row):
                try insertRow.bind(tick, at: 1)
                try insertRow.bind(row.first, at: 2)
                try insertRow.bind(row.last, at: 3)
                try insertRow.bind(blob: blob.bytes, at: 4, inPlace: true)
                try insertRow.run()
            case .discard(let row):
                try erase(nil, row)
            }
            if legacyTable { try connection.execute("DROP TABLE kept") }
            try end.run()
        } catch {
            try? rollback.run()
            rows.rollBack()
            // New additions are forgotten (with their records); promised ones are written again next time.
            // A forgotten one may still come back (taken before the commit, its delivery failed):
            // its number must not then fall inside a later row's range without its record.
            blob.removeAll()
            var given = Int64.min
            changes.removeAll {
                switch $0 {
                case .add(let message, _, let promised):
                    if !promised { given = max(given, message.sequence) }
                    return !promised
                case .new(let sequence):
                    given = max(given, sequence)
                    return true
                case .remove: return false
                }
            }
            rows.giveUp(through: given)
            throw error
        }
        rows.committed()
        blob.removeAll()
        changes.removeAll(keepingCapacity: true)
        emptyAtLoad.removeAll()
        legacyTable = false
    }

    private func write(_ change: Change) throws(StorageError) {
        switch change {
        case .add(let message, let recipient, _):
            let sequence = message.sequence
            if rows.isNew(sequence) {
                rows.addNew(sequence)
                JournalRecords.append(message, for: recipient, to: blob)
                return
            }
            // Kept again after a removal: its mark goes, and its record too if its row went.
            try flushMarks()
            try unmark.bind(sequence, at: 1)
            try unmark.run()
            if let holder = rows.row(of: sequence) {
                rows.revive(in: holder)
            } else {
                rows.addStray(sequence)
                JournalRecords.append(message, for: recipient, to: blob)
            }
        case .new(let sequence):
            assert(rows.isNew(sequence), "a new message's number is above every row's")
            rows.addNew(sequence)
        case .remove(let sequence):
            switch rows.remove(sequence) {
            case .absent: break
            case .marked:
                marks.append(sequence)
                if marks.count == Self.batchMarks { try flushMarks() }
            case .emptied(let tick, let row):
                try flushMarks()
                try erase(tick, row)
            }
        }
    }

    /// Deletes row `tick` (nil: never written) and the marks of its records.
    private func erase(_ tick: Int64?, _ row: JournalRows.Row) throws(StorageError) {
        if let tick {
            try deleteRow.bind(tick, at: 1)
            try deleteRow.run()
        }
        if row.first <= row.last {
            try unmarkRange.bind(row.first, at: 1)
            try unmarkRange.bind(row.last, at: 2)
            try unmarkRange.run()
        }
        for stray in row.strays {
            try unmark.bind(stray, at: 1)
            try unmark.run()
        }
    }

    /// Marks the removals gathered: a full batch in one statement, fewer one by one.
    private func flushMarks() throws(StorageError) {
        if marks.count == Self.batchMarks {
            for (index, sequence) in marks.enumerated() { try markBatch.bind(sequence, at: Int32(index + 1)) }
            try markBatch.run()
        } else {
            for sequence in marks {
                try mark.bind(sequence, at: 1)
                try mark.run()
            }
        }
        marks.removeAll(keepingCapacity: true)
    }

    public func close() {
        try? commit()
    }
}
