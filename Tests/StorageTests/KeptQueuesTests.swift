import Storage
import Testing

@Suite struct KeptQueuesTests {
    @Test func aMessageKeepsItsBytesSenderAndID() {
        let message = kept(#"{"from":"phone-1","to":"box-1","msg":"é","id":17}"#, from: "phone-1", id: "17", expiry: 42)
        #expect(texts([message]) == [#"{"from":"phone-1","to":"box-1","msg":"é","id":17}"#])
        #expect(message.sender == "phone-1")
        #expect(message.idJSON == Array("17".utf8))
        #expect(message.expiry == 42)
        #expect(kept("x").idJSON == nil)
    }

    @Test func takeReturnsEverythingInTheOrderKeptAndOnlyOnce() {
        var queues = KeptQueues(limits: KeptLimits())
        for text in ["a1", "b1", "a2", "b2"] {
            #expect(queues.admit(kept(text, from: String(text.prefix(1))), for: "box-1") == nil)
        }
        #expect(queues.admit(kept("other"), for: "box-2") == nil)
        #expect(queues.total == KeptAmount(messages: 5, bytes: 13))
        let first = queues.take(for: "box-1", now: 0)
        #expect(texts(first.taken) == ["a1", "b1", "a2", "b2"])
        #expect(first.expired.isEmpty)
        #expect(queues.take(for: "box-1", now: 0).taken.isEmpty)
        #expect(!queues.mayHold("box-1") && queues.mayHold("box-2"))
        #expect(queues.total == KeptAmount(messages: 1, bytes: 5))
    }

    @Test func aTakeLeavesOutWhatHasExpired() {
        var queues = KeptQueues(limits: KeptLimits())
        _ = queues.admit(kept("old", expiry: 100), for: "box-1")
        _ = queues.admit(kept("new", expiry: 300), for: "box-1")
        let result = queues.take(for: "box-1", now: 200)
        #expect(texts(result.taken) == ["new"])
        #expect(texts(result.expired) == ["old"])
    }

    @Test func recipientMessageBoundRefusesTheNextOne() {
        var queues = KeptQueues(limits: KeptLimits(messagesPerRecipient: 2, bytesPerRecipient: 1000, totalBytes: 1000))
        #expect(queues.admit(kept("1"), for: "box-1") == nil)
        #expect(queues.admit(kept("2"), for: "box-1") == nil)
        #expect(queues.admit(kept("3"), for: "box-1") == .recipientMessages)
        #expect(queues.admit(kept("3"), for: "box-2") == nil)
        #expect(texts(queues.take(for: "box-1", now: 0).taken) == ["1", "2"])
    }

    @Test func recipientByteBoundCountsPayloadBytes() {
        var queues = KeptQueues(limits: KeptLimits(messagesPerRecipient: 100, bytesPerRecipient: 10, totalBytes: 1000))
        #expect(queues.admit(kept("123456"), for: "box-1") == nil)
        #expect(queues.admit(kept("12345"), for: "box-1") == .recipientBytes)
        #expect(queues.admit(kept("1234"), for: "box-1") == nil)
        #expect(queues.holding(for: "box-1") == KeptAmount(messages: 2, bytes: 10))
    }

    @Test func totalByteBoundSpansRecipients() {
        var queues = KeptQueues(limits: KeptLimits(messagesPerRecipient: 100, bytesPerRecipient: 100, totalBytes: 10))
        #expect(queues.admit(kept("12345"), for: "box-1") == nil)
        #expect(queues.admit(kept("12345"), for: "box-2") == nil)
        #expect(queues.admit(kept("1"), for: "box-3") == .totalBytes)
        _ = queues.take(for: "box-1", now: 0)
        #expect(queues.admit(kept("1"), for: "box-3") == nil)
    }

    @Test func forcedMessagesPassTheBounds() {
        var queues = KeptQueues(limits: KeptLimits(messagesPerRecipient: 1, bytesPerRecipient: 1, totalBytes: 1))
        #expect(queues.admit(kept("promised"), for: "box-1", force: true) == nil)
        #expect(queues.admit(kept("x"), for: "box-1") == .recipientMessages)
    }

    @Test func expiryRemovesEachDueMessageOnceWithItsRecipient() {
        var queues = KeptQueues(limits: KeptLimits())
        _ = queues.admit(kept("a-late", expiry: 500), for: "box-a")
        _ = queues.admit(kept("a-early", expiry: 100), for: "box-a")
        _ = queues.admit(kept("b", expiry: 200), for: "box-b")
        var seen: [String] = []
        queues.expire(now: 99) { seen.append("\($0) \(texts([$1])[0])") }
        #expect(seen.isEmpty)
        queues.expire(now: 200) { seen.append("\($0) \(texts([$1])[0])") }
        #expect(seen.sorted() == ["box-a a-early", "box-b b"])
        #expect(queues.holding(for: "box-a") == KeptAmount(messages: 1, bytes: 6))
        #expect(queues.mayHold("box-b") == false)
        queues.expire(now: 10_000) { seen.append("\($0) \(texts([$1])[0])") }
        #expect(seen.count == 3 && seen.last == "box-a a-late")
        queues.expire(now: 20_000) { _, _ in Issue.record("expired twice") }
        #expect(queues.total == KeptAmount())
    }

    @Test func aTakenMessageNeverExpiresLater() {
        var queues = KeptQueues(limits: KeptLimits())
        _ = queues.admit(kept("m", expiry: 100), for: "box-1")
        _ = queues.take(for: "box-1", now: 50)
        _ = queues.admit(kept("n", expiry: 300), for: "box-1")   // a new queue for the same id
        var seen: [String] = []
        queues.expire(now: 200) { seen.append(texts([$1])[0]) }
        #expect(seen.isEmpty)
        queues.expire(now: 300) { seen.append(texts([$1])[0]) }
        #expect(seen == ["n"])
    }

    @Test func removeTakesOnlyWhatMatches() {
        var queues = KeptQueues(limits: KeptLimits())
        _ = queues.admit(kept("p1", from: "phone-1"), for: "box-1")
        _ = queues.admit(kept("p2", from: "phone-2"), for: "box-1")
        _ = queues.admit(kept("p1again", from: "phone-1"), for: "box-1")
        #expect(texts(queues.remove(for: "box-1") { $0.sender == "phone-1" }) == ["p1", "p1again"])
        #expect(texts(queues.take(for: "box-1", now: 0).taken) == ["p2"])
        #expect(queues.total == KeptAmount())
    }

    @Test func aMessageThatComesBackReturnsToItsPlace() {
        var queues = KeptQueues(limits: KeptLimits())
        for text in ["1", "2", "3"] { _ = queues.admit(kept(text), for: "box-1") }
        let handed = queues.take(for: "box-1", now: 0).taken
        _ = queues.admit(kept("4"), for: "box-1")               // kept after the three were handed over
        for message in handed.reversed() { _ = queues.admit(message, for: "box-1", force: true) }   // their delivery failed
        #expect(texts(queues.take(for: "box-1", now: 0).taken) == ["1", "2", "3", "4"])
    }
}

