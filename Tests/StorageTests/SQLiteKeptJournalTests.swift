import TestSupport
import CSQLite
import Storage
import XCTest

/// The journal's file as another reader sees it: one row per tick, rows and their removal marks
/// gone with their last message, messages kept again found after a restart, the earlier format moved.
final class SQLiteKeptJournalTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    private var state: String { directory.path + "/state" }

    private func open(now: Int64 = 0) throws -> LocalKeptStore {
        try LocalKeptStore(limits: KeptLimits(messagesPerRecipient: 1000), journal: SQLiteKeptJournal(directory: state), now: now)
    }

    private func keep(_ store: LocalKeptStore, _ text: String, for recipient: String = "box-1") {
        store.keep(kept(text), for: recipient, force: false) { _ in }
    }

    private func take(_ store: LocalKeptStore, _ recipient: String = "box-1") -> [KeptMessage] {
        var taken: [KeptMessage] = []
        store.take(for: recipient, now: 0) { taken = $0 }
        return taken
    }

    /// Rows of `table` in the closed journal file.
    private func count(_ table: String) throws -> Int {
        try onFile("SELECT count(*) FROM \(table)").first ?? -1
    }

    /// Runs `sql` on the file with SQLite itself (the store must be closed); the first column of each row.
    @discardableResult
    private func onFile(_ sql: String) throws -> [Int] {
        var handle: OpaquePointer?
        guard sqlite3_open(state + "/" + SQLiteKeptJournal.fileName, &handle) == SQLITE_OK else { throw StorageError("open") }
        defer { sqlite3_close(handle) }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            throw StorageError(String(cString: sqlite3_errmsg(handle)))
        }
        defer { sqlite3_finalize(statement) }
        var values: [Int] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return values }
            guard status == SQLITE_ROW else { throw StorageError(String(cString: sqlite3_errmsg(handle))) }
            values.append(Int(sqlite3_column_int64(statement, 0)))
        }
    }

    func testEachTicksKeepsAreOneRowAndEveryRowGoesWithItsLastMessage() throws {
        var store: LocalKeptStore? = try open()
        for n in 0..<50 { keep(store!, "a\(n)", for: "box-\(n % 7)") }
        store!.commit()
        for n in 0..<50 { keep(store!, "b\(n)", for: "box-\(n % 7)") }
        store!.commit()
        store = nil
        XCTAssertEqual(try count("kept_rows"), 2)
        store = try open()
        XCTAssertEqual(store!.total.messages, 100)
        for box in 0..<7 { _ = take(store!, "box-\(box)") }
        store!.commit()
        store = nil
        XCTAssertEqual(try count("kept_rows"), 0)
        XCTAssertEqual(try count("kept_gone"), 0, "the marks go with their rows")
        XCTAssertEqual(try open().total, KeptAmount())
    }

    func testAPartlyDeliveredRowKeepsItsOtherMessagesAcrossRestarts() throws {
        var store: LocalKeptStore? = try open()
        keep(store!, "to one", for: "box-1")
        keep(store!, "to two", for: "box-2")
        keep(store!, "to three", for: "box-3")
        store!.commit()
        XCTAssertEqual(texts(take(store!, "box-2")), ["to two"])
        store!.commit()
        store = nil
        XCTAssertEqual(try count("kept_rows"), 1)
        XCTAssertEqual(try count("kept_gone"), 1)
        store = try open()
        XCTAssertEqual(store!.total.messages, 2)
        XCTAssertEqual(texts(take(store!, "box-2")), [])
        XCTAssertEqual(texts(take(store!, "box-3")), ["to three"])
        store!.commit()
        store = nil
        store = try open()
        XCTAssertEqual(texts(take(store!, "box-1")), ["to one"])
    }

    func testAMessageKeptAgainWhileItsRowLivesIsUnmarked() throws {
        var store: LocalKeptStore? = try open()
        keep(store!, "handed out")
        keep(store!, "holds the row", for: "box-2")
        store!.commit()
        let handed = take(store!)
        store!.commit()
        store!.keep(handed[0], for: "box-1", force: true) { _ in }   // its connection died before it was sent
        store!.commit()
        store = nil
        XCTAssertEqual(try count("kept_rows"), 1, "the record was still on disk: not written again")
        XCTAssertEqual(try count("kept_gone"), 0)
        store = try open()
        XCTAssertEqual(texts(take(store!)), ["handed out"])
        XCTAssertEqual(texts(take(store!, "box-2")), ["holds the row"])
    }

    func testAMessageKeptAgainAfterItsRowWentIsWrittenAgainAndKeepsItsPlace() throws {
        var store: LocalKeptStore? = try open()
        keep(store!, "first")
        store!.commit()
        let handed = take(store!)
        store!.commit()   // its row is deleted
        keep(store!, "second")
        store!.keep(handed[0], for: "box-1", force: true) { _ in }
        store!.commit()
        store = nil
        XCTAssertEqual(try count("kept_rows"), 1)
        store = try open()
        XCTAssertEqual(texts(take(store!)), ["first", "second"])
        store!.commit()
        store = nil
        XCTAssertEqual(try count("kept_rows"), 0)
        XCTAssertEqual(try count("kept_gone"), 0)
    }

    func testMessagesKeptAndTakenInOneTickThenHandedBackApartAreAllWritten() throws {
        var store: LocalKeptStore? = try open()
        keep(store!, "one", for: "box-1")
        keep(store!, "two", for: "box-2")
        keep(store!, "three", for: "box-1")
        let toBox1 = take(store!, "box-1"), toBox2 = take(store!, "box-2")
        store!.commit()   // nothing of this tick lives: no row
        for message in toBox1 { store!.keep(message, for: "box-1", force: true) { _ in } }
        store!.commit()
        store!.keep(toBox2[0], for: "box-2", force: true) { _ in }   // its sequence lies between the two above
        store!.commit()
        store = nil
        store = try open()
        XCTAssertEqual(texts(take(store!, "box-1")), ["one", "three"])
        XCTAssertEqual(texts(take(store!, "box-2")), ["two"])
    }

    func testTheFormatWithARowPerMessageIsMovedAtStart() throws {
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try onFile("""
            CREATE TABLE kept(sequence INTEGER PRIMARY KEY, recipient TEXT NOT NULL, sender TEXT NOT NULL,
                              id BLOB, expiry INTEGER NOT NULL, payload BLOB NOT NULL)
            """)
        try onFile("INSERT INTO kept VALUES (7, 'box-1', 'phone-1', CAST('17' AS BLOB), 9000, CAST('older' AS BLOB))")
        try onFile("INSERT INTO kept VALUES (9, 'box-1', 'phone-2', NULL, 100, CAST('expired' AS BLOB))")
        try onFile("INSERT INTO kept VALUES (8, 'box-2', 'phone-1', NULL, 9000, CAST('other' AS BLOB))")
        var store: LocalKeptStore? = try open(now: 1000)
        XCTAssertEqual(store!.total.messages, 2)
        store = nil
        XCTAssertEqual(try onFile("SELECT count(*) FROM sqlite_master WHERE name = 'kept'"), [0])
        store = try open(now: 1000)
        let taken = take(store!)
        XCTAssertEqual(texts(taken), ["older"])
        XCTAssertEqual(taken.map(\.sender), ["phone-1"])
        XCTAssertEqual(taken.map(\.idJSON), [Array("17".utf8)])
        XCTAssertEqual(texts(take(store!, "box-2")), ["other"])
        keep(store!, "newer")
        store!.commit()
        XCTAssertEqual(texts(take(store!)), ["newer"])
    }

    func testARowCutShortIsAnErrorAtStartNotAGuess() throws {
        var store: LocalKeptStore? = try open()
        keep(store!, "a message long enough to cut")
        store!.commit()
        store = nil
        try onFile("UPDATE kept_rows SET records = substr(records, 1, 30)")
        XCTAssertThrowsError(try open()) { error in
            XCTAssertTrue("\(error)".contains("cut short"), "\(error)")
        }
    }
}

/// Random keeps, deliveries, messages handed back and restarts against a plain model: what a
/// reopened journal holds is exactly what the model holds, in order, and nothing lingers on disk.
final class SQLiteKeptJournalModelTests: XCTestCase {
    func testRandomHistoriesSurviveRestartsExactly() throws {
        for seed in 1...12 as ClosedRange<UInt64> {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try replay(seed: seed, state: directory.path + "/state")
        }
    }

    private func replay(seed: UInt64, state: String) throws {
        var random = SplitMix(seed: seed)
        let open = { try LocalKeptStore(limits: KeptLimits(messagesPerRecipient: 10_000, bytesPerRecipient: 1 << 30),
                                        journal: SQLiteKeptJournal(directory: state), now: 0) }
        var store = try open()
        var model: [String: [(order: Int, text: String)]] = [:]
        var made = 0
        for step in 0..<400 {
            let box = "box-\(random.next() % 5)"
            switch random.next() % 10 {
            case 0...4:
                for _ in 0...(random.next() % 4) {
                    made += 1
                    store.keep(kept("m\(made)"), for: box, force: false) { _ in }
                    model[box, default: []].append((made, "m\(made)"))
                }
            case 5...7:
                var taken: [KeptMessage] = []
                store.take(for: box, now: 0) { taken = $0 }
                let expected = model[box] ?? []
                XCTAssertEqual(texts(taken), expected.map(\.text), "seed \(seed) step \(step)")
                // Some come back at once: their connection died before they were sent.
                let back = random.next() % 3 == 0 ? taken.count / 2 : 0
                for message in taken.prefix(back) { store.keep(message, for: box, force: true) { _ in } }
                model[box] = Array(expected.prefix(back))
            case 8:
                store.commit()
            default:
                store.commit()
                store.close()
                store = LocalKeptStore(limits: KeptLimits())   // lets go of the file before it is opened again
                store = try open()
                XCTAssertEqual(store.total.messages, model.values.map(\.count).reduce(0, +), "seed \(seed) step \(step)")
            }
        }
        for box in model.keys.sorted() {
            var taken: [KeptMessage] = []
            store.take(for: box, now: 0) { taken = $0 }
            XCTAssertEqual(texts(taken), model[box]!.map(\.text), "seed \(seed), at the end")
        }
        store.commit()
        store.close()
        store = LocalKeptStore(limits: KeptLimits())
        XCTAssertEqual(try open().total, KeptAmount(), "seed \(seed): nothing lingers")
    }
}
