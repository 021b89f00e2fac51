/// Which row of the journal holds each message still on disk, and how many of each row's records
/// are still live: a row is deleted (with the removal marks of its records) once none is.
///
/// A tick's new messages have consecutive-ish, increasing sequences, so a row is found by its
/// range [first, last]; a message kept again after its row was deleted (its delivery failed) is
/// written into the current tick's row as a stray, found through `strays`.
/// Plain state: `SQLiteKeptJournal` does the SQL each step asks for. Every change made during a
/// commit can be undone (`rollBack`) when the transaction fails.
struct JournalRows {
    struct Row {
        /// The range of the row's own new messages (empty, first > last, when it has only strays).
        var first: Int64 = .max
        var last: Int64 = .min
        var live = 0
        var strays: [Int64] = []

        func holds(_ sequence: Int64) -> Bool { sequence >= first && sequence <= last }
    }

    /// Rows on disk (the current one is `current` until its commit).
    private var rows: [Int64: Row] = [:]
    private var current = Row()
    /// (first, tick) of rows with a range, in order of both; entries of deleted rows linger until compacted.
    private var starts: [(first: Int64, tick: Int64)] = []
    private var deletedStarts = 0
    private var strays: [Int64: Int64] = [:]
    private var undo: [Undo] = []
    private enum Undo {
        case row(Int64, Row?)
        case stray(Int64, Int64?)
    }

    /// The highest sequence in any row committed (written or discarded) or given up by a failed
    /// commit: a higher one is new.
    private(set) var lastWritten: Int64 = 0
    /// The row the current commit fills.
    private(set) var tick: Int64 = 1

    var rowCount: Int { rows.count }

    // MARK: Loading

    /// A row found on disk: its records' sequences, and whether each is still kept.
    mutating func load(tick: Int64, first: Int64, last: Int64, records: [(sequence: Int64, live: Bool)]) {
        var row = Row(first: first, last: last)
        for record in records {
            if record.live { row.live += 1 }
            if !row.holds(record.sequence) {
                row.strays.append(record.sequence)
                strays[record.sequence] = tick
            }
            lastWritten = max(lastWritten, record.sequence)
        }
        rows[tick] = row
        if first <= last { starts.append((first, tick)) }
        self.tick = max(self.tick, tick + 1)
    }

    /// Rows loaded without a live record (the first commit deletes them).
    var emptyRows: [(tick: Int64, row: Row)] {
        rows.filter { $0.value.live == 0 }.map { ($0.key, $0.value) }
    }

    // MARK: A commit

    /// After the last `load`: rows were read in tick order, which is their ranges' order too,
    /// unless a clock or a hand changed the file; sorted once to be sure.
    mutating func finishLoading() {
        starts.sort { $0.first < $1.first }
    }

    /// Starts the current tick's row.
    mutating func begin() {
        current = Row()
    }

    /// Where `sequence`'s record is on disk (or in the current row), if anywhere.
    func row(of sequence: Int64) -> Int64? {
        if let holder = strays[sequence] { return holder == tick || rows[holder] != nil ? holder : nil }
        if current.holds(sequence) { return tick }
        var low = 0, high = starts.count
        while low < high {
            let middle = (low + high) / 2
            if starts[middle].first <= sequence { low = middle + 1 } else { high = middle }
        }
        guard low > 0, let row = rows[starts[low - 1].tick], row.holds(sequence) else { return nil }
        return starts[low - 1].tick
    }

    /// Whether `sequence` is newer than everything written and in the current row.
    func isNew(_ sequence: Int64) -> Bool {
        sequence > max(lastWritten, current.last)
    }

    /// A new message goes into the current row.
    mutating func addNew(_ sequence: Int64) {
        if current.first > current.last { current.first = sequence }
        current.last = sequence
        current.live += 1
    }

    /// A message whose row was deleted goes into the current row again.
    mutating func addStray(_ sequence: Int64) {
        current.strays.append(sequence)
        current.live += 1
        undo.append(.stray(sequence, strays[sequence]))
        strays[sequence] = tick
    }

    /// A removed message kept again whose record is still in row `tick`.
    mutating func revive(in tick: Int64) {
        if tick == self.tick { return current.live += 1 }
        guard var row = rows[tick] else { return }
        row.live += 1
        set(tick, row)
    }

    enum Removal {
        /// Not on disk: nothing to write.
        case absent
        /// Its row lives on: the record is marked removed.
        case marked
        /// It was its row's last live record: the row goes, with every mark in it.
        case emptied(Int64, Row)
    }

    mutating func remove(_ sequence: Int64) -> Removal {
        guard let holder = row(of: sequence) else { return .absent }
        if holder == tick {
            current.live -= 1
            return .marked
        }
        guard var row = rows[holder] else { return .absent }
        row.live -= 1
        guard row.live == 0 else {
            set(holder, row)
            return .marked
        }
        delete(holder, row)
        return .emptied(holder, row)
    }

    /// Deletes a row (loaded empty, or emptied).
    mutating func delete(_ holder: Int64, _ row: Row) {
        set(holder, nil)
        forgetStrays(of: holder, row)
    }

    private mutating func forgetStrays(of holder: Int64, _ row: Row) {
        for stray in row.strays where strays[stray] == holder {
            undo.append(.stray(stray, holder))
            strays[stray] = nil
        }
    }

    enum Finish {
        /// Something in the current row is live: it is written.
        case write(Row)
        /// Nothing is: it is not written, and marks made for its records are erased.
        case discard(Row)
    }

    mutating func finish() -> Finish {
        if current.live > 0 { return .write(current) }
        forgetStrays(of: tick, current)
        return .discard(current)
    }

    /// The transaction committed: the current row is on disk (if written), the next commit fills a new one.
    mutating func committed() {
        if current.live > 0 {
            rows[tick] = current
            if current.first <= current.last { starts.append((current.first, tick)) }
        }
        // A discarded row's numbers count as written too: one of its messages handed back later
        // must be a stray, not "new" (its number would then sit inside a later row's range that
        // lacks some numbers below it, and another message handed back into that gap would be
        // taken for a record the row holds).
        lastWritten = max(lastWritten, current.last, current.strays.max() ?? .min)
        current = Row()
        tick += 1
        undo.removeAll(keepingCapacity: true)
        compact()
    }

    /// A failed commit gave up new messages numbered up to `sequence`: those numbers count as
    /// written, like a discarded row's, so one of them handed back later is a stray.
    mutating func giveUp(through sequence: Int64) {
        lastWritten = max(lastWritten, sequence)
    }

    /// The transaction failed: every change since `begin` is undone.
    mutating func rollBack() {
        for step in undo.reversed() {
            switch step {
            case .row(let tick, let row): rows[tick] = row
            case .stray(let sequence, let tick): strays[sequence] = tick
            }
        }
        undo.removeAll(keepingCapacity: true)
        current = Row()
    }

    private mutating func set(_ tick: Int64, _ row: Row?) {
        undo.append(.row(tick, rows[tick]))
        if row == nil, let old = rows[tick], old.first <= old.last { deletedStarts += 1 }
        rows[tick] = row
    }

    /// Drops the entries of deleted rows once they are half of `starts`.
    private mutating func compact() {
        guard deletedStarts > 64, deletedStarts * 2 > starts.count else { return }
        starts.removeAll { rows[$0.tick] == nil }
        deletedStarts = 0
    }
}
