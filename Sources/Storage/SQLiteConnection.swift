import CSQLite

/// One open SQLite database file, closed with its last reference.
final class SQLiteConnection {
    let handle: OpaquePointer

    /// Opens (creating if needed) the database at `path`, for use on one thread (the loop's): no
    /// per-call locking.
    init(path: String) throws(StorageError) {
        var opened: OpaquePointer?
        let status = sqlite3_open_v2(path, &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK, let opened else {
            let reason = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            // SQLite allocates a handle even when opening fails; it must still be closed.
            sqlite3_close_v2(opened)
            throw StorageError("could not open \(path): \(reason)")
        }
        handle = opened
    }

    // Statements keep the connection alive, so none is left unfinalized here.
    deinit { sqlite3_close_v2(handle) }

    /// Runs `sql` (one or more statements without parameters), discarding any rows.
    func execute(_ sql: String) throws(StorageError) {
        var message: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &message) == SQLITE_OK else {
            let reason = message.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(message)
            throw StorageError("\(sql): \(reason)")
        }
    }

    /// SQLite's explanation of the last failure on this connection.
    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// SQLite's primary result code of the last failure (SQLITE_BUSY: another process holds the lock).
    var lastErrorCode: Int32 { sqlite3_errcode(handle) & 0xFF }
}
