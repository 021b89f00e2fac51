import Testing
@testable import Switchboard

private func ttl(_ json: String) -> Int?? {
    Array(json.utf8).withUnsafeBytes { raw in
        guard case .success(let envelope) = Envelope.scan(raw) else { return nil }
        return .some(envelope.ttl)
    }
}

private func kept(_ route: Switchboard<FakeConnection>.Route) -> Int? {
    if case .keep(let seconds) = route { return seconds }
    return nil
}

@Suite struct TTLScanTests {
    @Test func aWholeNumberIsTheTTL() {
        #expect(ttl(#"{"from":"a","to":"b","msg":1,"ttl":30}"#) == .some(30))
        #expect(ttl(#"{"ttl" : 7 ,"from":"a","to":"b","msg":1}"#) == .some(7))
        #expect(ttl(#"{"t\u0074l":5,"from":"a","to":"b","msg":1}"#) == .some(5))
    }

    @Test func noTTLIsNil() {
        #expect(ttl(#"{"from":"a","to":"b","msg":{"ttl":5}}"#) == .some(nil))
        #expect(ttl(#"{"from":"a","to":"b","msg":1,"tt":5,"ttls":5}"#) == .some(nil))
    }

    @Test("anything but a whole number reads as 0", arguments: [
        "0", "-5", "1.5", "1e2", "2E0", #""30""#, "null", "true", "[30]", "{}", "1234567890", "99999999999999999999",
    ])
    func notAWholeNumber(_ value: String) {
        #expect(ttl(#"{"from":"a","to":"b","msg":1,"ttl":"# + value + "}") == .some(0))
    }

    @Test func aDuplicateTTLIsMalformed() {
        #expect(ttl(#"{"from":"a","to":"b","msg":1,"ttl":5,"ttl":6}"#) == nil)
    }
}

@Suite struct KeepRoutingTests {
    let phone = FakeConnection("phone")
    let box = FakeConnection("box")

    @Test func aTTLToAnOfflineDeviceIsKeptForThatLong() {
        let board = Switchboard<FakeConnection>()
        #expect(kept(route(board, #"{"from":"phone","to":"box","msg":1,"ttl":30}"#, from: "phone", phone)) == 30)
        #expect(kept(route(board, #"{"from":"phone","to":"box","msg":1,"ttl":300}"#, from: "phone", phone)) == 300)
    }

    @Test func withoutTTLAnOfflineDeviceIsStatus1UnlessThereIsADefault() {
        #expect(replyText(route(Switchboard<FakeConnection>(), #"{"from":"phone","to":"box","msg":1}"#, from: "phone", phone))?
            .hasPrefix(#"{"status":1,"#) == true)
        let keeping = Switchboard<FakeConnection>(keep: KeepRule(maxSeconds: 300, defaultSeconds: 20))
        #expect(kept(route(keeping, #"{"from":"phone","to":"box","msg":1}"#, from: "phone", phone)) == 20)
        #expect(kept(route(keeping, #"{"from":"phone","to":"box","msg":1,"ttl":5}"#, from: "phone", phone)) == 5)
    }

    @Test("a ttl out of range is status 2 naming the range, online or not", arguments: ["0", "301", "-1", "1.5", #""5""#, "null"])
    func outOfRange(_ value: String) {
        let board = Switchboard<FakeConnection>()
        let json = #"{"from":"phone","to":"box","msg":1,"id":9,"ttl":"# + value + "}"
        let expected = #"{"status":2,"message":"\"ttl\" must be whole seconds from 1 to 300","data":{},"id":9}"#
        #expect(replyText(route(board, json, from: "phone", phone)) == expected)
        _ = board.register("box", box)
        #expect(replyText(route(board, json, from: "phone", phone)) == expected)
    }

    @Test func theRangeFollowsTheServersMaximum() {
        let board = Switchboard<FakeConnection>(keep: KeepRule(maxSeconds: 10))
        #expect(kept(route(board, #"{"from":"phone","to":"box","msg":1,"ttl":10}"#, from: "phone", phone)) == 10)
        #expect(replyText(route(board, #"{"from":"phone","to":"box","msg":1,"ttl":11}"#, from: "phone", phone))?
            .contains("from 1 to 10") == true)
    }

    @Test func aTTLToAnOnlineDeviceIsDeliveredAtOnce() {
        let board = Switchboard<FakeConnection>()
        _ = board.register("box", box)
        #expect(deliveredTo(route(board, #"{"from":"phone","to":"box","msg":1,"ttl":30}"#, from: "phone", phone)) === box)
    }

    @Test func aBadRecipientIdIsStillStatus2() {
        #expect(replyText(route(Switchboard<FakeConnection>(), #"{"from":"phone","to":"bad id","msg":1,"ttl":5}"#, from: "phone", phone))?
            .hasPrefix(#"{"status":2,"#) == true)
    }

    @Test func repliesForKeptMessagesHaveTheOneShape() {
        #expect(String(decoding: Reply.queued(for: "box-1", idJSON: Array("17".utf8)).bytes, as: UTF8.self)
                == #"{"status":8,"message":"queued","data":{"box-1":"offline"},"id":17}"#)
        #expect(String(decoding: Reply.delivered(to: "box-1", idJSON: Array("17".utf8)).bytes, as: UTF8.self)
                == #"{"status":0,"message":"delivered","data":{"box-1":"online"},"id":17}"#)
        #expect(String(decoding: Reply.expired(for: "box-1", idJSON: Array("17".utf8)).bytes, as: UTF8.self)
                == #"{"status":1,"message":"expired","data":{"box-1":"offline"},"id":17}"#)
        #expect(String(decoding: Reply.offlineQueueFull(for: "box-1", idJSON: nil).bytes, as: UTF8.self)
                == #"{"status":5,"message":"offline queue full","data":{"box-1":"offline"}}"#)
    }

    @Test func keptRepliesWrittenByteByByteAreTheRepliesOfTheSameName() {
        for idJSON in [nil, Array("17".utf8), Array(#"{"a":[1,"x"]}"#.utf8)] {
            let pairs: [(KeptReply.Kind, Reply)] = [
                (.queued, .queued(for: "box-1", idJSON: idJSON)), (.queueFull, .offlineQueueFull(for: "box-1", idJSON: idJSON)),
                (.delivered, .delivered(to: "box-1", idJSON: idJSON)), (.expired, .expired(for: "box-1", idJSON: idJSON)),
            ]
            for (kind, reply) in pairs {
                let fast = KeptReply(kind, recipient: "box-1", idJSON: idJSON)
                #expect(fast.withBytes { Array($0) } == reply.bytes)
                #expect(fast.status == reply.status)
            }
        }
    }
}

