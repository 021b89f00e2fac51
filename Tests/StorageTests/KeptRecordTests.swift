@testable import Storage
import Testing

@Suite struct KeptRecordTests {
    /// The record of `message` and the extras it stores after the payload.
    private func record(_ message: KeptMessage) -> (KeptRecord, [UInt8]) {
        var extras: [UInt8] = []
        let record = KeptRecord(message, extras: &extras)
        return (record, extras)
    }

    @Test func aSenderAndIDThatThePayloadHoldsAreNotCopied() {
        let (record, extras) = record(kept(#"{"from":"phone-1","to":"box-1","id":17}"#, from: "phone-1", id: "17"))
        #expect(extras.isEmpty)
        #expect(record.senderAt == 9 && record.senderCount == 7)
        #expect(record.idAt == 36 && record.idCount == 2)
        #expect(record.regionCount == record.payloadCount)
    }

    @Test func aSenderAndIDThePayloadLacksAreStoredAfterIt() {
        let (record, extras) = record(kept("x", from: "phone-1", id: "\"a\""))
        #expect(extras == Array("phone-1\"a\"".utf8))
        #expect(record.senderAt == 1 && record.idAt == 8)
        #expect(record.regionCount == 1 + 10)
        let (noID, none) = self.record(kept("phone-1", from: "phone-1"))
        #expect(none.isEmpty && noID.idCount == 0)
    }

    @Test func theSearchFindsTheFirstWholeOccurrenceOnly() {
        func offset(_ needle: String, _ haystack: String) -> Int? {
            Array(needle.utf8).withUnsafeBytes { n in Array(haystack.utf8).withUnsafeBytes { KeptRecord.offset(of: n, in: $0) } }
        }
        #expect(offset("12", "1 11 12 12") == 5)
        #expect(offset("ab", "xxab") == 2, "at the very end")
        #expect(offset("abc", "xxab") == nil, "cut off by the end")
        #expect(offset("abc", "ab") == nil)
        #expect(offset("a", "") == nil)
        #expect(offset("", "xyz") == 0)
    }

    @Test func theHeaderDecodesByteByByteWhateverTheValues() {
        let values: [Int64] = [0, 1, 127, 128, 16_383, 16_384, 1_800_000_000_000, Int64.max, -1, Int64.min]
        for value in values {
            var extras: [UInt8] = []
            var original = KeptRecord(kept("payload", expiry: value), extras: &extras)
            original.sequence = value
            var bytes = [UInt8](repeating: 0, count: KeptRecord.maxHeaderBytes)
            let base: Int64 = 1_800_000_000_000
            let length = bytes.withUnsafeMutableBytes { original.encodeHeader(at: $0.baseAddress!, expiryBase: base) }
            var next = 0
            let decoded = KeptRecord(expiryBase: base) {
                defer { next += 1 }
                return bytes[next]
            }
            #expect(decoded == original)
            #expect(next == length, "the decoder reads exactly the header")
        }
    }

    @Test func aTypicalHeaderTakesElevenBytes() {
        // The drain bench's message, a million messages into a run, expiring 5 minutes after the first kept.
        let message = kept(#"{"from":"dphone-7","to":"dbox-4207","msg":"3","id":12345,"ttl":300}"#, from: "dphone-7", id: "12345",
                           expiry: 1_800_000_300_000)
        message.sequence = 1_000_000
        var extras: [UInt8] = []
        let record = KeptRecord(message, extras: &extras)
        var bytes = [UInt8](repeating: 0, count: KeptRecord.maxHeaderBytes)
        #expect(bytes.withUnsafeMutableBytes { record.encodeHeader(at: $0.baseAddress!, expiryBase: 1_800_000_000_000) } == 11)
        #expect(extras.isEmpty)
    }

    @Test func recordsThatStraddleBlocksAtEveryOffsetComeBackWhole() {
        // Payloads of 0 to 300 bytes put every byte of a header and a region at some block boundary.
        var queues = KeptQueues(limits: KeptLimits(messagesPerRecipient: 1000, bytesPerRecipient: 1 << 20, totalBytes: 1 << 20))
        var expected: [(String, String, [UInt8]?, Int64)] = []
        for length in 0...300 {
            let text = String(repeating: "é", count: length / 2) + String(repeating: "a", count: length % 2)
            let sender = "phone-\(length)"
            let id: String? = length % 3 == 0 ? nil : "\(length * 7)"
            expected.append((text, sender, id.map { Array($0.utf8) }, Int64(1000 + length)))
            #expect(queues.admit(kept(text, from: sender, id: id, expiry: Int64(1000 + length)), for: "box-1") == nil)
        }
        let taken = queues.take(for: "box-1", now: 0).taken
        #expect(taken.count == expected.count)
        for (message, (text, sender, id, expiry)) in zip(taken, expected) {
            #expect(texts([message]) == [text])
            #expect(message.sender == sender)
            #expect(message.idJSON == id)
            #expect(message.expiry == expiry)
        }
        #expect(queues.blocksInUse == 0)
    }

    @Test func aLargeMessageTakesFewLargeBlocks() {
        var queues = KeptQueues(limits: KeptLimits(messagesPerRecipient: 10, bytesPerRecipient: 1 << 20, totalBytes: 1 << 20))
        let large = String(repeating: "x", count: 10_000)
        _ = queues.admit(kept(large), for: "box-1")
        #expect(queues.blocksInUse == 6, "4 KiB, 4 KiB, 1 KiB, 512, 256 and 64 bytes")   // 64-byte blocks would take 170
        _ = queues.admit(kept("small"), for: "box-1")
        #expect(texts(queues.take(for: "box-1", now: 0).taken) == [large, "small"])
        #expect(queues.blocksInUse == 0)
    }

    @Test func recordsBeyondTheFirstSlabComeBackWhole() {
        // 30,000 small records need more 64-byte blocks than one 1 MiB slab holds (16,384).
        var queues = KeptQueues(limits: KeptLimits(messagesPerRecipient: 10, bytesPerRecipient: 1 << 20, totalBytes: 1 << 30))
        for round in 0..<10 { for box in 0..<3000 { _ = queues.admit(kept("\(box):\(round):" + String(repeating: "p", count: 40)), for: "box-\(box)") } }
        #expect(queues.blocksInUse > 16_384)
        for box in [0, 1500, 2999] {
            #expect(texts(queues.take(for: "box-\(box)", now: 0).taken) == (0..<10).map { "\(box):\($0):" + String(repeating: "p", count: 40) })
        }
    }

    @Test func takeExpiryAndRemovalHandTheirBlocksBack() {
        var queues = KeptQueues(limits: KeptLimits())
        for box in 0..<20 {
            for n in 0..<5 { _ = queues.admit(kept(String(repeating: "m", count: 90), from: "phone-\(n % 2)", expiry: Int64(100 * (n + 1))), for: "box-\(box)") }
        }
        #expect(queues.blocksInUse > 0)
        for box in 0..<10 { _ = queues.take(for: "box-\(box)", now: 0) }
        for box in 10..<15 { _ = queues.remove(for: "box-\(box)") { $0.sender == "phone-0" } }
        queues.expire(now: 250) { _, _ in }
        #expect(queues.total.messages == 5 * 1 + 5 * 3)   // boxes 10-14 keep phone-1's second; 15-19 their last three
        queues.expire(now: 10_000) { _, _ in }
        #expect(queues.total == KeptAmount())
        #expect(queues.blocksInUse == 0)
    }

    @Test func expiryLeavesTheRestWithTheirSenderAndID() {
        var queues = KeptQueues(limits: KeptLimits())
        _ = queues.admit(kept(#"{"from":"p-1","id":1}"#, from: "p-1", id: "1", expiry: 100), for: "box-1")
        _ = queues.admit(kept("other", from: "p-2", id: "2", expiry: 300), for: "box-1")
        _ = queues.admit(kept(#"{"from":"p-3","id":3}"#, from: "p-3", id: "3", expiry: 100), for: "box-1")
        var expired: [String] = []
        queues.expire(now: 200) { _, message in expired.append(message.sender) }
        #expect(expired == ["p-1", "p-3"])
        let left = queues.take(for: "box-1", now: 200).taken
        #expect(left.map(\.sender) == ["p-2"] && left.map(\.idJSON) == [Array("2".utf8)] && texts(left) == ["other"])
    }
}
