import Testing
@testable import BenchKit

/// The load scripts read a reply's status and numeric id without a JSON parser.
@Suite struct StatusReplyTests {
    private func read(_ text: String) -> (Int?, Int?) {
        Array(text.utf8).withUnsafeBytes { (StatusReply.status($0), StatusReply.id($0)) }
    }

    @Test func aReplyGivesItsStatusAndID() {
        #expect(read(#"{"status":8,"message":"queued","data":{"box-1":"offline"},"id":1234}"#) == (8, 1234))
        #expect(read(#"{"status":0,"message":"delivered","data":{"b":"online"},"id":0}"#) == (0, 0))
        #expect(read(#"{"status":5,"message":"offline queue full","data":{"b":"offline"}}"#) == (5, nil))
    }

    @Test func messagesAndPresenceAreNoReplies() {
        #expect(read(#"{"from":"p","to":"b","msg":"7","id":7}"#).0 == nil)
        #expect(read(#"{"from":"b","to":"all","msg":"online"}"#) == (nil, nil))
        #expect(read(#"{"status":"x"}"#).0 == nil)
    }
}
