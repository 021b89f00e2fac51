@testable import Storage
import XCTest

/// The journal's accounting alone: which row holds a sequence, and a failed commit undone whole.
final class JournalRowsTests: XCTestCase {
    private func loaded() -> JournalRows {
        var rows = JournalRows()
        rows.load(tick: 1, first: 2, last: 4, records: [(2, true), (3, true), (4, false)])
        rows.load(tick: 2, first: 5, last: 6, records: [(5, true), (6, true), (1, true)])   // 1: kept again after its row went
        rows.finishLoading()
        return rows
    }

    func testRowsAreFoundByRangeAndStrayByName() {
        let rows = loaded()
        XCTAssertEqual([1, 2, 3, 4, 5, 6, 7].map { rows.row(of: $0) }, [2, 1, 1, 1, 2, 2, nil])
        XCTAssertEqual(rows.lastWritten, 6)
        XCTAssertEqual(rows.tick, 3)
        XCTAssertFalse(rows.isNew(6))
        XCTAssertTrue(rows.isNew(7))
    }

    func testAFailedCommitIsUndoneWhole() {
        var rows = loaded()
        rows.begin()
        rows.addNew(7)
        guard case .marked = rows.remove(2) else { return XCTFail("row 1 still holds 3") }
        guard case .emptied(1, _) = rows.remove(3) else { return XCTFail("row 1's last live record") }
        rows.addStray(3)
        guard case .write = rows.finish() else { return XCTFail("7 and 3 are live") }
        XCTAssertEqual(rows.row(of: 3), 3)
        rows.rollBack()
        XCTAssertEqual([1, 2, 3, 4, 5, 6, 7].map { rows.row(of: $0) }, [2, 1, 1, 1, 2, 2, nil])
        XCTAssertEqual(rows.rowCount, 2)
        // The same commit again, this time written.
        rows.begin()
        rows.addNew(7)
        _ = rows.remove(2)
        _ = rows.remove(3)
        rows.committed()
        XCTAssertEqual([1, 2, 3, 7].map { rows.row(of: $0) }, [2, nil, nil, 3])
        XCTAssertEqual(rows.lastWritten, 7)
    }

    func testACurrentRowWithNothingLiveIsNotWritten() {
        var rows = loaded()
        rows.begin()
        rows.addNew(7)
        guard case .marked = rows.remove(7) else { return XCTFail("the current row is never deleted early") }
        guard case .discard(let row) = rows.finish() else { return XCTFail("nothing live in it") }
        XCTAssertEqual(row.first...row.last, 7...7, "its marks are erased by range")
        rows.committed()
        XCTAssertNil(rows.row(of: 7))
        XCTAssertFalse(rows.isNew(7), "handed back later it is a stray, outside every later row's range")
    }
}
