import CSQLite

/// A prepared statement, reset after each run and finalized with its last reference.
final class SQLiteStatement {
    private let connection: SQLiteConnection
    private let handle: OpaquePointer
    private let sql: String

    /// Prepares `sql` on `connection`.
    init(_ sql: String, on connection: SQLiteConnection) throws(StorageError) {
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(connection.handle, sql, -1, &prepared, nil) == SQLITE_OK, let prepared else {
            throw StorageError("could not prepare \(sql): \(connection.lastErrorMessage)")
        }
        self.connection = connection
        self.handle = prepared
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `text` to the 1-based parameter `index`, embedded NULs included.
    func bind(_ text: String, at index: Int32) throws(StorageError) {
        var text = text
        let status = text.withUTF8 { bytes -> Int32 in
            guard let length = Int32(exactly: bytes.count) else { return SQLITE_TOOBIG }
            // An empty buffer may have no address, and a nil pointer would bind NULL.
            guard let start = bytes.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
            return start.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                sqlite3_bind_text(handle, index, chars, length, Self.transient)
            }
        }
        try check(status, "bind parameter \(index) of")
    }

    /// Binds `value` to the 1-based parameter `index`.
    func bind(_ value: Int64, at index: Int32) throws(StorageError) {
        try check(sqlite3_bind_int64(handle, index, value), "bind parameter \(index) of")
    }

    /// Binds `bytes` as a blob to the 1-based parameter `index`: a copy, unless `inPlace` (then
    /// the bytes must stay as they are until the statement has run).
    func bind(blob bytes: UnsafeRawBufferPointer, at index: Int32, inPlace: Bool = false) throws(StorageError) {
        guard let length = Int32(exactly: bytes.count) else { throw failure(SQLITE_TOOBIG, "bind parameter \(index) of") }
        // An empty blob still needs an address, or SQLite would bind NULL.
        let status = sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), length,
                                       inPlace ? nil : Self.transient)
        try check(status, "bind parameter \(index) of")
    }

    /// Binds UTF-8 `bytes` as text to the 1-based parameter `index`: a copy, unless in place (see `bind(blob:)`).
    func bind(utf8 bytes: UnsafeRawBufferPointer, at index: Int32, copying: Bool = false) throws(StorageError) {
        guard let length = Int32(exactly: bytes.count) else { throw failure(SQLITE_TOOBIG, "bind parameter \(index) of") }
        let start = (bytes.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start)).assumingMemoryBound(to: CChar.self)
        try check(sqlite3_bind_text(handle, index, start, length, copying ? Self.transient : nil), "bind parameter \(index) of")
    }

    /// Binds NULL to the 1-based parameter `index`.
    func bindNull(at index: Int32) throws(StorageError) {
        try check(sqlite3_bind_null(handle, index), "bind parameter \(index) of")
    }

    /// Runs the statement, calling `row` for each result row, then resets it for the next run.
    func run(row: (SQLiteStatement) -> Void = { _ in }) throws(StorageError) {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        while true {
            let status = sqlite3_step(handle)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw failure(status, "run") }
            row(self)
        }
    }

    /// The text in 0-based `column` of the current row.
    func text(at column: Int32) -> String {
        guard let start = sqlite3_column_text(handle, column) else { return "" }
        let length = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self)
    }

    /// The blob in 0-based `column` of the current row (valid only until the next step), or nil for NULL.
    func blob(at column: Int32) -> UnsafeRawBufferPointer? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL else { return nil }
        let length = Int(sqlite3_column_bytes(handle, column))
        return UnsafeRawBufferPointer(start: sqlite3_column_blob(handle, column), count: length)
    }

    /// The integer in 0-based `column` of the current row.
    func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// `action` is only spelled out on failure (binds run per kept message).
    private func check(_ status: Int32, _ action: @autoclosure () -> String) throws(StorageError) {
        guard status == SQLITE_OK else { throw failure(status, action()) }
    }

    private func failure(_ status: Int32, _ action: String) -> StorageError {
        let reason = status == SQLITE_TOOBIG ? String(cString: sqlite3_errstr(status)) : connection.lastErrorMessage
        return StorageError("could not \(action) \(sql): \(reason)")
    }

    /// SQLITE_TRANSIENT (a cast of -1) is a macro Swift cannot import; it makes SQLite copy bound text.
    private static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }
}
