import Auth
import Foundation
import Storage
import XCTest

final class SQLiteRevocationStoreTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    /// A store in a subfolder that does not exist yet, so opening must create it.
    private func open() throws -> SQLiteRevocationStore {
        try SQLiteRevocationStore(directory: directory.path + "/state")
    }

    func testRevokedPairIsRevoked() throws {
        let store = try open()
        XCTAssertFalse(store.isRevoked(box: "box-1", phone: "phone-1"))
        try store.revoke(box: "box-1", phone: "phone-1", until: 100)
        XCTAssertTrue(store.isRevoked(box: "box-1", phone: "phone-1"))
        XCTAssertEqual(store.count, 1)
    }

    func testRevocationIsOrderedBoxThenPhone() throws {
        try open().revoke(box: "box-1", phone: "phone-1", until: 100)
        let store = try open()
        XCTAssertTrue(store.isRevoked(box: "box-1", phone: "phone-1"))
        XCTAssertFalse(store.isRevoked(box: "phone-1", phone: "box-1"))
        XCTAssertFalse(store.isRevoked(box: "box-1", phone: "phone-2"))
    }

    func testRevocationsSurviveARestart() throws {
        var store: SQLiteRevocationStore? = try open()
        try store?.revoke(box: "box-1", phone: "phone-1", until: 100)
        try store?.revoke(box: "box-2", phone: "", until: 200)
        try store?.revoke(box: "box-\u{0}3", phone: "phöne-✓", until: 300)
        store = nil
        let reopened = try open()
        XCTAssertEqual(reopened.count, 3)
        XCTAssertTrue(reopened.isRevoked(box: "box-1", phone: "phone-1"))
        XCTAssertTrue(reopened.isRevoked(box: "box-2", phone: ""))
        XCTAssertTrue(reopened.isRevoked(box: "box-\u{0}3", phone: "phöne-✓"))
        XCTAssertFalse(reopened.isRevoked(box: "box-", phone: "phöne-✓"))
    }

    func testDatabaseFileLivesInTheDirectory() throws {
        let store = try open()
        XCTAssertEqual(store.path, directory.path + "/state/" + SQLiteRevocationStore.fileName)
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.path))
    }

    func testPruneDropsExpiredRowsOnDiskToo() throws {
        let store = try open()
        try store.revoke(box: "box-1", phone: "phone-1", until: 100)
        try store.revoke(box: "box-1", phone: "phone-2", until: 200)
        try store.prune(now: 100)
        XCTAssertTrue(store.isRevoked(box: "box-1", phone: "phone-1"))
        try store.prune(now: 101)
        XCTAssertFalse(store.isRevoked(box: "box-1", phone: "phone-1"))
        let reopened = try open()
        XCTAssertEqual(reopened.count, 1)
        XCTAssertFalse(reopened.isRevoked(box: "box-1", phone: "phone-1"))
        XCTAssertTrue(reopened.isRevoked(box: "box-1", phone: "phone-2"))
    }

    func testRevokingAgainKeepsTheLaterExpiry() throws {
        let store = try open()
        try store.revoke(box: "box-1", phone: "phone-1", until: 200)
        try store.revoke(box: "box-1", phone: "phone-1", until: 100)
        try store.prune(now: 150)
        XCTAssertTrue(store.isRevoked(box: "box-1", phone: "phone-1"))
        // The disk kept 200 too, not the later-written 100.
        try open().prune(now: 150)
        XCTAssertTrue(try open().isRevoked(box: "box-1", phone: "phone-1"))
        try store.revoke(box: "box-1", phone: "phone-1", until: 300)
        try open().prune(now: 250)
        XCTAssertTrue(try open().isRevoked(box: "box-1", phone: "phone-1"))
    }

    func testLiftForgetsTheRevocationOnDiskToo() throws {
        let store = try open()
        try store.revoke(box: "box-1", phone: "phone-1", until: 100)
        try store.revoke(box: "box-1", phone: "phone-2", until: 100)
        try store.lift(box: "box-1", phone: "phone-1")
        XCTAssertFalse(store.isRevoked(box: "box-1", phone: "phone-1"))
        let reopened = try open()
        XCTAssertFalse(reopened.isRevoked(box: "box-1", phone: "phone-1"))
        XCTAssertTrue(reopened.isRevoked(box: "box-1", phone: "phone-2"))
    }

    func testADirectoryThatCannotBeCreatedThrows() throws {
        // A path under a regular file fails even for root, unlike a permissions test.
        let file = directory.path + "/not-a-directory"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        XCTAssertThrowsError(try SQLiteRevocationStore(directory: file + "/state")) { error in
            let storageError = error as? StorageError
            XCTAssertNotNil(storageError)
            XCTAssertTrue(storageError?.message.contains("could not create the directory") == true)
        }
    }

    func testAFileThatIsNotADatabaseThrows() throws {
        let state = directory.path + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let garbage = Data(repeating: 0x5A, count: 4096)
        XCTAssertTrue(FileManager.default.createFile(atPath: state + "/" + SQLiteRevocationStore.fileName, contents: garbage))
        XCTAssertThrowsError(try open()) { error in
            XCTAssertTrue((error as? StorageError)?.message.contains("not a database") == true, "\(error)")
        }
    }

    func testUsableThroughTheProtocol() throws {
        let store: any RevocationStore = try open()
        try store.revoke(box: "b", phone: "p", until: 10)
        XCTAssertTrue(store.isRevoked(box: "b", phone: "p"))
        try store.prune(now: 11)
        XCTAssertFalse(store.isRevoked(box: "b", phone: "p"))
        try store.revoke(box: "b", phone: "p", until: 20)
        try store.lift(box: "b", phone: "p")
        XCTAssertFalse(store.isRevoked(box: "b", phone: "p"))
    }
}
