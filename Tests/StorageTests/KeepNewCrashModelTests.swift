import Glibc
import TestSupport
import Storage
import XCTest

/// Runs `body` while no file may grow past its first byte: every SQLite write in it fails, as on
/// a full disk (SIGXFSZ is ignored, so the write returns EFBIG instead of ending the process).
func withFullDisk(_ body: () -> Void) {
    signal(SIGXFSZ, SIG_IGN)
    var old = rlimit()
    getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
    var tight = old
    tight.rlim_cur = 1
    setrlimit(Int32(RLIMIT_FSIZE.rawValue), &tight)
    defer { setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old) }
    body()
}

/// `text` kept as parts (the server's path) from `sender`, with `id` and the offsets given.
@discardableResult
func keepNew(_ store: LocalKeptStore, _ text: String, from sender: String = "phone-1", id: String? = nil,
             senderAt: Int? = nil, idAt: Int? = nil, expiry: Int64 = 10_000, for box: String) -> KeptRefusal? {
    Array(text.utf8).withUnsafeBytes { payload in
        Array(sender.utf8).withUnsafeBytes { senderBytes in
            guard let id else {
                return store.keepNew(KeptParts(payload: payload, sender: senderBytes, id: nil, expiry: expiry, senderAt: senderAt), for: box)
            }
            return Array(id.utf8).withUnsafeBytes {
                store.keepNew(KeptParts(payload: payload, sender: senderBytes, id: $0, expiry: expiry, senderAt: senderAt, idAt: idAt), for: box)
            }
        }
    }
}

/// The crash model with new messages kept as parts (`keepNew`: their records go into the tick's
/// blob at once) and commits that fail: after each commit, reopen or kill, the file holds exactly
/// what the store holds.
final class KeepNewCrashModelTests: XCTestCase {
    func testRandomHistoriesOfNewKeepsWithFailedCommitsMatchTheLastCommit() throws {
        try replayEachSeed(1...40) { seed, state in try replay(seed: seed, state: state) }
    }

    private struct Held: Equatable, ModelMessage {
        /// The order of making (the message's text ends with it).
        var made: Int
        var text: String
        var sender: String
        var expiry: Int64
    }

    private func replay(seed: UInt64, state: String) throws {
        var random = SplitMix(seed: seed)
        var now: Int64 = 1_000
        let open = { (now: Int64) in try openModelStore(state, now: now) }
        var store = try open(now)
        var model: [String: [Held]] = [:]
        var committed: [String: [Held]] = [:]
        var inHand: [(box: String, message: KeptMessage, tick: Int)] = []
        var newThisTick: Set<Int> = []
        var tick = 0
        var made = 0
        func commit(failing: Bool, _ context: String) {
            if failing { withFullDisk { store.commit() } } else { store.commit() }
            if !failing { XCTAssertTrue(store.lastCommitSucceeded, context) }   // (one with nothing to write cannot fail)
            if store.lastCommitSucceeded {
                committed = model
            } else {
                // The tick's new messages are refused; promised ones and removals wait for the next commit.
                model = model.mapValues { $0.filter { !newThisTick.contains($0.made) } }.filter { !$0.value.isEmpty }
            }
            newThisTick.removeAll()
            tick += 1
        }
        func reopened(_ context: String) throws {
            newThisTick.removeAll()
            inHand.removeAll()
            tick += 1
            store = try open(now)
            XCTAssertEqual(store.total.messages, model.values.map(\.count).reduce(0, +), context)
        }
        for step in 0..<500 {
            let box = "box-\(random.next() % 4)"
            let context = "seed \(seed) step \(step)"
            switch random.next() % 18 {
            case 0...5:
                for _ in 0...(random.next() % 3) {
                    made += 1
                    let sender = "phone-\(random.next() % 3)"
                    let expiry = now + Int64(random.next() % 4) * 50 + 10
                    let text = #"{"from":"\#(sender)","id":\#(made),"n":\#(made)}"#
                    XCTAssertNil(keepNew(store, text, from: sender, id: "\(made)", senderAt: 9, idAt: 9 + sender.utf8.count + 7,
                                         expiry: expiry, for: box), context)
                    model[box, default: []].append(Held(made: made, text: text, sender: sender, expiry: expiry))
                    newThisTick.insert(made)
                }
            case 6...7:
                var taken: [KeptMessage] = []
                store.take(for: box, now: now) { taken = $0 }
                let expected = (model[box] ?? []).filter { $0.expiry > now }
                XCTAssertEqual(texts(taken), expected.map(\.text), context)
                XCTAssertEqual(taken.map(\.sender), expected.map(\.sender), context)
                XCTAssertEqual(taken.map { $0.idJSON.map { String(decoding: $0, as: UTF8.self) } }, expected.map { "\($0.made)" }, context)
                model[box] = nil
                inHand += taken.map { (box, $0, tick) }
            case 8...9:
                // Some taken in an earlier tick come back: their connections died before they were
                // sent. (The server takes at the end of a tick, just before its commit.)
                let earlier = inHand.indices.filter { inHand[$0].tick < tick }
                var picked: [Int] = []
                for _ in 0..<min(earlier.count, Int(random.next() % 3)) {
                    let choices = earlier.filter { !picked.contains($0) }
                    picked.append(choices[Int(random.next() % UInt64(choices.count))])
                }
                for index in picked.sorted(by: >) {
                    let (owner, message, _) = inHand.remove(at: index)
                    store.keep(message, for: owner, force: true) { _ in }
                    let text = String(decoding: message.payload, as: UTF8.self)
                    let held = Held(made: Int(text.split(separator: ":").last!.dropLast())!, text: text, sender: message.sender,
                                    expiry: message.expiry)
                    model[owner, default: []].append(held)
                    model[owner]!.sort { $0.made < $1.made }
                }
            case 10:
                let sender = "phone-\(random.next() % 3)"
                store.drop(from: sender, to: box)
                model[box]?.removeAll { $0.sender == sender }
            case 11:
                now += Int64(random.next() % 60)
                store.expire(now: now)
                model = live(model, at: now)
            case 12...13:
                commit(failing: false, context)
            case 14...15:
                commit(failing: true, context)
            case 16:
                commit(failing: false, context)
                store.close()
                store = LocalKeptStore(limits: KeptLimits())   // lets go of the file before it is opened again
                model = live(committed, at: now)
                try reopened(context)
            default:
                // Killed: nothing since the last commit reached the file.
                store = LocalKeptStore(limits: KeptLimits())
                model = live(committed, at: now)
                try reopened(context)
            }
        }
        for box in model.keys.sorted() {
            var taken: [KeptMessage] = []
            store.take(for: box, now: now) { taken = $0 }
            XCTAssertEqual(texts(taken), model[box]!.filter { $0.expiry > now }.map(\.text), "seed \(seed), at the end")
        }
        store.commit()
        store.close()
        store = LocalKeptStore(limits: KeptLimits())
        XCTAssertEqual(try open(now).total, KeptAmount(), "seed \(seed): nothing lingers")
    }

    /// Messages of a failed tick taken in it (their recipient arrived) come back in two later
    /// ticks, a new message kept between: both are written, so a restart still has both.
    func testMessagesOfAFailedTickHandedBackInTwoLaterTicksAreBothOnDisk() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let state = directory.path + "/state"
        let open = { try LocalKeptStore(limits: KeptLimits(), journal: SQLiteKeptJournal(directory: state, sync: .normal), now: 0) }
        var store = try open()
        keepNew(store, "a", for: "box-1")
        store.commit()
        keepNew(store, "b", for: "box-2")
        keepNew(store, "c", for: "box-3")
        var inHand: [KeptMessage] = []
        store.take(for: "box-2", now: 0) { inHand += $0 }
        store.take(for: "box-3", now: 0) { inHand += $0 }
        withFullDisk { store.commit() }
        XCTAssertFalse(store.lastCommitSucceeded)
        // box-2's connection dies: "b" comes back, and a new message is kept in the same tick.
        store.keep(inHand[0], for: "box-2", force: true) { _ in }
        keepNew(store, "d", for: "box-4")
        store.commit()
        // A tick later box-3's dies: "c" comes back too.
        store.keep(inHand[1], for: "box-3", force: true) { _ in }
        store.commit()
        XCTAssertTrue(store.lastCommitSucceeded)
        // Killed and restarted: what the store held after its last commit is there.
        store = LocalKeptStore(limits: KeptLimits())
        store = try open()
        var taken: [KeptMessage] = []
        for box in ["box-1", "box-2", "box-3", "box-4"] { store.take(for: box, now: 0) { taken += $0 } }
        XCTAssertEqual(texts(taken), ["a", "b", "c", "d"])
    }
}
