@testable import Cluster
import Redis
import Testing

/// A batch of routed messages as one inbox field: records in, the same records out.
@Suite struct InboxRecordTests {
    private func records(_ messages: [(String, String, [UInt8])]) -> [UInt8] {
        var joined: [UInt8] = []
        for (device, sender, payload) in messages {
            payload.withUnsafeBytes { InboxRecord.append(device: device, sender: sender, payload: $0, to: &joined) }
        }
        return joined
    }

    private func read(_ bytes: [UInt8]) -> (messages: [String], whole: Bool) {
        var messages: [String] = []
        let whole = bytes.withUnsafeBytes { raw in
            InboxRecord.forEach(in: raw) { device, sender, payload in
                messages.append("\(device)<\(sender):\(String(decoding: payload, as: UTF8.self))")
            }
        }
        return (messages, whole)
    }

    @Test func recordsComeBackInOrderByteForByte() {
        let long = String(repeating: "x", count: 70_000)
        let joined = records([("box-1", "ph-1", Array("{\"a\":1}".utf8)), ("a-device-id-longer-than-fifteen", "é", []),
                              ("box-2", "ph-2", Array(long.utf8))])
        #expect(read(joined).messages == ["box-1<ph-1:{\"a\":1}", "a-device-id-longer-than-fifteen<é:", "box-2<ph-2:\(long)"])
        #expect(read(joined).whole)
        #expect(String(decoding: joined.prefix(13), as: UTF8.self) == "5:4:7:box-1ph")
    }

    @Test func aTruncatedOrForeignTailStopsAfterTheWholeRecords() {
        let joined = records([("box-1", "ph-1", Array("one".utf8)), ("box-1", "ph-1", Array("two".utf8))])
        #expect(read(Array(joined.dropLast())) == (["box-1<ph-1:one"], false))
        #expect(read(joined + Array("5:4:x:".utf8)) == (["box-1<ph-1:one", "box-1<ph-1:two"], false))
        #expect(read(Array("1234567890:0:0:".utf8)) == ([], false))
        #expect(read([]) == ([], true))
    }

    @Test func aBatchEntryNamesItsSenderNodeAndCarriesTheRecords() {
        let fields: [RedisReply] = ["t", "b", "n", "node-a", "m", "5:4:1:box-1ph-1x"].map { .bulkString(Array($0.utf8)) }
        #expect(InboxEntry(fields: fields) == .messages(senderNode: "node-a", records: Array("5:4:1:box-1ph-1x".utf8)))
        #expect(InboxEntry(fields: Array(fields.prefix(4))) == nil)
    }
}
