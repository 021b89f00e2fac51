import TestSupport
import Storage
import XCTest

/// Random histories with what the first model leaves out: messages handed back ticks (and restarts)
/// after they were taken, expiry, a sender's messages dropped, and kills between commits (the file
/// must then hold exactly what the last commit held).
final class SQLiteKeptJournalCrashModelTests: XCTestCase {
    func testRandomHistoriesWithExpiryDropsAndKillsMatchTheLastCommit() throws {
        try replayEachSeed(1...40) { seed, state in try replay(seed: seed, state: state) }
    }

    private struct Held: Equatable, ModelMessage {
        var sequence: Int64
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
        var inHand: [(box: String, message: KeptMessage)] = []
        var made = 0
        for step in 0..<600 {
            let box = "box-\(random.next() % 4)"
            let context = "seed \(seed) step \(step)"
            switch random.next() % 16 {
            case 0...5:
                for _ in 0...(random.next() % 3) {
                    made += 1
                    let sender = "phone-\(random.next() % 3)"
                    let expiry = now + Int64(random.next() % 4) * 50 + 10
                    let message = kept("m\(made)", from: sender, expiry: expiry)
                    store.keep(message, for: box, force: false) { _ in }
                    model[box, default: []].append(Held(sequence: message.sequence, text: "m\(made)", sender: sender, expiry: expiry))
                }
            case 6...7:
                var taken: [KeptMessage] = []
                store.take(for: box, now: now) { taken = $0 }
                let expected = (model[box] ?? []).filter { $0.expiry > now }
                XCTAssertEqual(texts(taken), expected.map(\.text), context)
                model[box] = nil
                inHand += taken.map { (box, $0) }
            case 8...9:
                // Some taken earlier come back: their connections died before they were sent.
                for _ in 0..<min(inHand.count, Int(random.next() % 3)) {
                    let (owner, message) = inHand.remove(at: Int(random.next() % UInt64(inHand.count)))
                    store.keep(message, for: owner, force: true) { _ in }
                    let held = Held(sequence: message.sequence, text: String(decoding: message.payload, as: UTF8.self),
                                    sender: message.sender, expiry: message.expiry)
                    model[owner, default: []].append(held)
                    model[owner]!.sort { $0.sequence < $1.sequence }
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
                store.commit()
                committed = model
            case 14:
                store.commit()
                store.close()
                store = LocalKeptStore(limits: KeptLimits())   // lets go of the file before it is opened again
                committed = model
                model = live(committed, at: now)
                store = try open(now)
                inHand.removeAll()
                XCTAssertEqual(store.total.messages, model.values.map(\.count).reduce(0, +), context)
            default:
                // Killed: nothing since the last commit reached the file.
                store = LocalKeptStore(limits: KeptLimits())
                model = live(committed, at: now)
                store = try open(now)
                inHand.removeAll()
                XCTAssertEqual(store.total.messages, model.values.map(\.count).reduce(0, +), context)
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
}
