import Auth
import XCTest

final class MemoryRevocationStoreTests: XCTestCase {
    func testRevocationIsOrderedBoxThenPhone() {
        let store = MemoryRevocationStore()
        store.revoke(box: "box-1", phone: "phone-1", until: 100)
        XCTAssertTrue(store.isRevoked(box: "box-1", phone: "phone-1"))
        XCTAssertFalse(store.isRevoked(box: "phone-1", phone: "box-1"))
        XCTAssertFalse(store.isRevoked(box: "box-1", phone: "phone-2"))
    }

    func testPruneKeepsRevocationsUntilTheirExpiry() {
        let store = MemoryRevocationStore()
        store.revoke(box: "box-1", phone: "phone-1", until: 100)
        store.revoke(box: "box-1", phone: "phone-2", until: 200)
        store.prune(now: 100)
        XCTAssertTrue(store.isRevoked(box: "box-1", phone: "phone-1"))
        store.prune(now: 101)
        XCTAssertFalse(store.isRevoked(box: "box-1", phone: "phone-1"))
        XCTAssertTrue(store.isRevoked(box: "box-1", phone: "phone-2"))
        XCTAssertEqual(store.count, 1)
    }

    func testRevokingAgainKeepsTheLaterExpiry() {
        let store = MemoryRevocationStore()
        store.revoke(box: "box-1", phone: "phone-1", until: 200)
        store.revoke(box: "box-1", phone: "phone-1", until: 100)
        store.prune(now: 150)
        XCTAssertTrue(store.isRevoked(box: "box-1", phone: "phone-1"))
    }

    func testUsableThroughTheProtocol() throws {
        let store: any RevocationStore = MemoryRevocationStore()
        try store.revoke(box: "b", phone: "p", until: 10)
        XCTAssertTrue(store.isRevoked(box: "b", phone: "p"))
        try store.prune(now: 11)
        XCTAssertFalse(store.isRevoked(box: "b", phone: "p"))
    }
}
