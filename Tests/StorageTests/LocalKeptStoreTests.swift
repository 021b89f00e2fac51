import Foundation
import Storage
import XCTest

final class LocalKeptStoreTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    private func open(limits: KeptLimits = KeptLimits(), now: Int64 = 0) throws -> LocalKeptStore {
        try LocalKeptStore(limits: limits, journal: SQLiteKeptJournal(directory: directory.path + "/state"), now: now)
    }

    private func keep(_ store: KeptMessageStore, _ message: KeptMessage, for recipient: String = "box-1") -> [KeepOutcome] {
        var outcomes: [KeepOutcome] = []
        store.keep(message, for: recipient, force: false) { outcomes.append($0) }
        return outcomes
    }

    private func take(_ store: KeptMessageStore, _ recipient: String = "box-1", now: Int64 = 0) -> [String] {
        var result: [String]?
        store.take(for: recipient, now: now) { result = texts($0) }
        return result ?? ["(not answered)"]
    }

    func testAKeepIsReportedOnlyAtTheCommit() throws {
        let store = try open()
        var outcomes: [KeepOutcome] = []
        store.keep(kept("m"), for: "box-1", force: false) { outcomes.append($0) }
        XCTAssertEqual(outcomes, [])
        store.commit()
        XCTAssertEqual(outcomes, [.kept])
        store.commit()
        XCTAssertEqual(outcomes, [.kept])
    }

    func testARefusalIsReportedAtOnce() throws {
        let store = try open(limits: KeptLimits(messagesPerRecipient: 1))
        store.keep(kept("1"), for: "box-1", force: false) { _ in }
        XCTAssertEqual(keep(store, kept("2")), [.refused(.recipientMessages)])
    }

    func testCommittedMessagesComeBackAfterAReopenInOrderWithSenderIDAndExpiry() throws {
        var store: LocalKeptStore? = try open()
        store!.keep(kept(#"{"a":1}"#, from: "phone-a", id: "\"x\"", expiry: 5000), for: "box-1", force: false) { _ in }
        store!.keep(kept("", from: "phone-b", expiry: 6000), for: "box-1", force: false) { _ in }
        store!.keep(kept("third", from: "phone-a", expiry: 7000), for: "box-2", force: false) { _ in }
        store!.commit()
        store = nil   // no close: a process killed right after the commit
        let reopened = try open(now: 1000)
        XCTAssertEqual(reopened.total, KeptAmount(messages: 3, bytes: 12))
        var taken: [KeptMessage] = []
        reopened.take(for: "box-1", now: 1000) { taken = $0 }
        XCTAssertEqual(texts(taken), [#"{"a":1}"#, ""])
        XCTAssertEqual(taken.map(\.sender), ["phone-a", "phone-b"])
        XCTAssertEqual(taken.map(\.idJSON), [Array("\"x\"".utf8), nil])
        XCTAssertEqual(taken.map(\.expiry), [5000, 6000])
        XCTAssertEqual(take(reopened, "box-2", now: 1000), ["third"])
    }

    func testABusyTicksKeepsAllReachTheDiskInOrder() throws {
        var store: LocalKeptStore? = try open(limits: KeptLimits(messagesPerRecipient: 1000))
        let texts = (0..<70).map { "m\($0)" }   // two full batches of rows and a few alone
        for (index, text) in texts.enumerated() {
            store!.keep(kept(text, from: "phone-\(index % 3)", id: index % 2 == 0 ? "\(index)" : nil), for: "box-1", force: false) { _ in }
        }
        store!.commit()
        store = nil
        var taken: [KeptMessage] = []
        try open().take(for: "box-1", now: 0) { taken = $0 }
        XCTAssertEqual(taken.map { String(decoding: $0.payload, as: UTF8.self) }, texts)
        XCTAssertEqual(taken.map(\.sender), (0..<70).map { "phone-\($0 % 3)" })
        XCTAssertEqual(taken.map(\.idJSON), (0..<70).map { $0 % 2 == 0 ? Array("\($0)".utf8) : nil })
    }

    func testManyTakesInOneTickLeaveNothingOnDisk() throws {
        var store: LocalKeptStore? = try open()
        for box in 0..<40 { for n in 0..<3 { store!.keep(kept("\(box).\(n)"), for: "box-\(box)", force: false) { _ in } } }
        store!.keep(kept("stays"), for: "box-last", force: false) { _ in }
        store!.commit()
        for box in 0..<40 { XCTAssertEqual(take(store!, "box-\(box)").count, 3) }   // 120 removals: batches and a rest
        store!.commit()
        store = nil
        let reopened = try open()
        XCTAssertEqual(reopened.total, KeptAmount(messages: 1, bytes: 5))
    }

    func testUncommittedKeepsAreNotOnDisk() throws {
        var store: LocalKeptStore? = try open()
        store!.keep(kept("never committed"), for: "box-1", force: false) { _ in }
        store = nil
        XCTAssertEqual(try open().total, KeptAmount())
    }

    func testATakenMessageIsNotReloadedOnceCommitted() throws {
        var store: LocalKeptStore? = try open()
        store!.keep(kept("once"), for: "box-1", force: false) { _ in }
        store!.commit()
        XCTAssertEqual(take(store!), ["once"])
        XCTAssertEqual(take(store!), [])
        store!.commit()
        store = nil
        let reopened = try open()
        XCTAssertEqual(take(reopened), [])
    }

    func testKeepAndTakeInOneTickLeaveNothingOnDisk() throws {
        var store: LocalKeptStore? = try open()
        store!.keep(kept("quick"), for: "box-1", force: false) { _ in }
        XCTAssertEqual(take(store!), ["quick"])
        store!.commit()
        store = nil
        XCTAssertEqual(try open().total, KeptAmount())
    }

    func testAMessageKeptTakenAndKeptAgainInOneTickIsOnDisk() throws {
        var store: LocalKeptStore? = try open()
        store!.keep(kept("first"), for: "box-1", force: false) { _ in }
        store!.commit()
        var handed: [KeptMessage] = []
        store!.take(for: "box-1", now: 0) { handed = $0 }
        store!.keep(kept("second"), for: "box-1", force: false) { _ in }
        store!.keep(handed[0], for: "box-1", force: true) { _ in }   // its connection died first
        store!.commit()
        store = nil
        XCTAssertEqual(take(try open()), ["first", "second"])
    }

    func testExpiredMessagesAreDroppedAtLoadAndByExpire() throws {
        var store: LocalKeptStore? = try open()
        store!.keep(kept("short", expiry: 100), for: "box-1", force: false) { _ in }
        store!.keep(kept("long", expiry: 900), for: "box-1", force: false) { _ in }
        store!.commit()
        store = nil
        var reopened: LocalKeptStore! = try open(now: 500)
        XCTAssertEqual(reopened.total, KeptAmount(messages: 1, bytes: 4))
        var expired: [String] = []
        reopened.onExpired = { recipient, message in expired.append("\(recipient) \(texts([message])[0])") }
        reopened.expire(now: 899)
        XCTAssertEqual(expired, [])
        reopened.expire(now: 900)
        XCTAssertEqual(expired, ["box-1 long"])
        reopened.commit()
        reopened = nil
        XCTAssertEqual(try open(now: 0).total, KeptAmount())
    }

    func testATakeReportsExpiredMessagesAsExpired() throws {
        let store = LocalKeptStore(limits: KeptLimits())
        var expired: [String] = []
        store.onExpired = { _, message in expired.append(texts([message])[0]) }
        store.keep(kept("stale", expiry: 10), for: "box-1", force: false) { _ in }
        store.keep(kept("fresh", expiry: 100), for: "box-1", force: false) { _ in }
        XCTAssertEqual(take(store, now: 50), ["fresh"])
        XCTAssertEqual(expired, ["stale"])
    }

    func testDropRemovesOneSendersMessagesOnDiskToo() throws {
        var store: LocalKeptStore? = try open()
        store!.keep(kept("from phone", from: "phone-x"), for: "box-1", force: false) { _ in }
        store!.keep(kept("from other", from: "phone-y"), for: "box-1", force: false) { _ in }
        store!.commit()
        store!.drop(from: "phone-x", to: "box-1")
        store!.commit()
        store = nil
        XCTAssertEqual(take(try open()), ["from other"])
    }

    func testASecondStoreOnTheSameDirectoryIsRefused() throws {
        let first = try open()
        XCTAssertThrowsError(try open()) { error in
            XCTAssertTrue("\(error)".contains("in use by another process"), "\(error)")
        }
        first.close()
    }

    func testTheStoreFileIsReadableByItsOwnerOnly() throws {
        let store = try open()
        store.keep(kept("secret"), for: "box-1", force: false) { _ in }
        store.commit()
        let path = directory.path + "/state/" + SQLiteKeptJournal.fileName
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testMemoryStoreSaysARestartLosesItsMessages() {
        XCTAssertFalse(LocalKeptStore(limits: KeptLimits()).survivesRestart)
    }

    func testAFailedCommitRefusesTheTicksKeepsAndRetriesRemovals() throws {
        let journal = FailingJournal()
        let store = try LocalKeptStore(limits: KeptLimits(), journal: journal, now: 0)
        var failures = 0
        store.onCommitFailure = { _ in failures += 1 }
        var outcomes: [KeepOutcome] = []
        journal.failing = true
        store.keep(kept("lost"), for: "box-1", force: false) { outcomes.append($0) }
        store.commit()
        XCTAssertEqual(outcomes, [.refused(.storeFailed)])
        XCTAssertEqual(failures, 1)
        XCTAssertEqual(store.total, KeptAmount())
        journal.failing = false
        store.keep(kept("kept"), for: "box-1", force: false) { outcomes.append($0) }
        store.commit()
        XCTAssertEqual(outcomes, [.refused(.storeFailed), .kept])
    }

    func testAMessageAlreadyPromisedOutlivesAFailedCommit() throws {
        let journal = FailingJournal()
        let store = try LocalKeptStore(limits: KeptLimits(), journal: journal, now: 0)
        store.keep(kept("promised"), for: "box-1", force: false) { _ in }
        store.commit()
        var handed: [KeptMessage] = []
        store.take(for: "box-1", now: 0) { handed = $0 }
        journal.failing = true
        var outcomes: [KeepOutcome] = []
        store.keep(handed[0], for: "box-1", force: true) { outcomes.append($0) }   // its connection died first
        store.keep(kept("new"), for: "box-1", force: false) { outcomes.append($0) }
        store.commit()
        XCTAssertEqual(outcomes, [.refused(.storeFailed)], "the new one is refused, the promised one waits")
        XCTAssertEqual(store.total.messages, 1)
        XCTAssertEqual(journal.promisedAdds, 1, "the journal was told it is promised (kept for its next commit)")
        journal.failing = false
        store.commit()
        XCTAssertEqual(outcomes, [.refused(.storeFailed), .kept])
        XCTAssertEqual(take(store), ["promised"])
    }
}

/// A journal whose commits fail while `failing` is set.
extension LocalKeptStoreTests {
    func testAFailedCommitRefusesTheTicksNewKeepsGivenAsParts() throws {
        let journal = FailingJournal()
        let store = try LocalKeptStore(limits: KeptLimits(), journal: journal, now: 0)
        func keepNew(_ text: String) -> KeptRefusal? {
            Array(text.utf8).withUnsafeBytes { payload in
                Array("phone-1".utf8).withUnsafeBytes { store.keepNew(KeptParts(payload: payload, sender: $0, id: nil, expiry: 1000), for: "box-1") }
            }
        }
        journal.failing = true
        XCTAssertNil(keepNew("lost"))
        store.commit()
        XCTAssertFalse(store.lastCommitSucceeded)
        XCTAssertEqual(store.holding(for: "box-1"), KeptAmount())
        journal.failing = false
        XCTAssertNil(keepNew("kept"))
        store.commit()
        XCTAssertTrue(store.lastCommitSucceeded)
        XCTAssertEqual(take(store), ["kept"])
    }
}

private final class FailingJournal: KeptJournal {
    var failing = false
    func load() throws(StorageError) -> [(String, KeptMessage)] { [] }
    var unusedSequence: Int64 { 1 }
    private(set) var promisedAdds = 0
    func add(_ message: KeptMessage, for recipient: String, promised: Bool) { if promised { promisedAdds += 1 } }
    func remove(_ message: KeptMessage) {}
    func commit() throws(StorageError) { if failing { throw StorageError("disk full") } }
    func close() {}
}
