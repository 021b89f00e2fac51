import Switchboard
import XCTest

final class SameBytesTests: XCTestCase {
    func testInlineAndHeapIdsCompareByTheirBytes() {
        let long = String(repeating: "box-", count: 10)
        let sameLongElsewhere = String(repeating: "box", count: 1) + "-" + String(repeating: "box-", count: 9)
        XCTAssertTrue(sameBytes("box-1", "box-" + "1"))
        XCTAssertTrue(sameBytes(long, sameLongElsewhere))
        XCTAssertFalse(sameBytes("box-1", "box-2"))
        XCTAssertFalse(sameBytes("box-1", "box-10"))
        XCTAssertFalse(sameBytes(long, long + "x"))
        XCTAssertTrue(sameBytes("", ""))
    }

    func testCanonicallyEquivalentSpellingsDiffer() {
        XCTAssertEqual("\u{212A}", "K")   // String's own == calls them equal...
        XCTAssertFalse(sameBytes("\u{212A}", "K"))   // ...ids do not
        XCTAssertFalse(sameBytes("e\u{301}", "\u{E9}"))
    }
}
