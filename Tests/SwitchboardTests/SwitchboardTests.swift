import Testing
@testable import Switchboard

@Suite struct RoutingTests {
    let box = FakeConnection("box")
    let phone = FakeConnection("phone")

    @Test func aMessageToAnOnlineDeviceIsDeliveredToItsConnection() {
        let board = Switchboard<FakeConnection>()
        _ = board.register("box", box)
        _ = board.register("phone", phone)
        #expect(deliveredTo(route(board, #"{"from":"phone","to":"box","msg":"hi"}"#, from: "phone", phone)) === box)
    }

    @Test func anOfflineTargetIsStatus1WithTheIdAndTheClientsId() {
        let board = Switchboard<FakeConnection>()
        _ = board.register("phone", phone)
        #expect(replyText(route(board, #"{"id":"m1","from":"phone","to":"box","msg":1}"#, from: "phone", phone))
                == #"{"status":1,"message":"target offline","data":{"box":"offline"},"id":"m1"}"#)
    }

    @Test func malformedIsStatus2() {
        let board = Switchboard<FakeConnection>()
        #expect(replyText(route(board, "not json", from: "phone", phone))?.hasPrefix(#"{"status":2,"#) == true)
        #expect(replyText(route(board, #"{"id":5,"from":"phone","msg":1}"#, from: "phone", phone))?.hasSuffix(#","id":5}"#) == true)
        #expect(replyText(route(board, #"{"from":"phone","to":"bad id","msg":1}"#, from: "phone", phone))?.hasPrefix(#"{"status":2,"#) == true)
    }

    @Test func spoofedFromIsStatus4() {
        let board = Switchboard<FakeConnection>()
        _ = board.register("box", box)
        #expect(replyText(route(board, #"{"from":"box","to":"box","msg":1}"#, from: "phone", phone))?.hasPrefix(#"{"status":4,"#) == true)
    }

    @Test func clientBroadcastIsForbiddenUnlessAllowed() {
        #expect(replyText(route(Switchboard<FakeConnection>(), #"{"from":"phone","to":"all","msg":1}"#, from: "phone", phone))?
            .hasPrefix(#"{"status":4,"#) == true)
        let open = Switchboard<FakeConnection>(allowClientBroadcast: true)
        if case .broadcast = route(open, #"{"from":"phone","to":"all","msg":1}"#, from: "phone", phone) {} else {
            Issue.record("broadcast expected")
        }
    }

    @Test func serverQueryStatusAnswersAndUnknownCommandsAreStatus2() {
        let board = Switchboard<FakeConnection>()
        _ = board.register("box", box)
        #expect(replyText(route(board, #"{"id":1,"from":"phone","to":"server","msg":"queryStatus","data":["box","tv"]}"#, from: "phone", phone))
                == #"{"status":0,"message":"ok","data":{"box":"online","tv":"offline"},"id":1}"#)
        #expect(replyText(route(board, #"{"from":"phone","to":"server","msg":"reboot"}"#, from: "phone", phone))?.hasPrefix(#"{"status":2,"#) == true)
        #expect(replyText(route(board, #"{"from":"phone","to":"server","msg":"queryStatus","data":[1]}"#, from: "phone", phone))?.hasPrefix(#"{"status":2,"#) == true)
    }

    @Test func queryStatusIsLimitedTo100Ids() {
        let board = Switchboard<FakeConnection>()
        #expect((try? board.queryStatus((0..<100).map { "d\($0)" }, watcher: nil).get()) != nil)
        #expect((try? board.queryStatus((0..<101).map { "d\($0)" }, watcher: nil).get()) == nil)
    }
}

@Suite struct PresenceTests {
    let a = FakeConnection("a"), b = FakeConnection("b"), c = FakeConnection("c")

    @Test func modeAllBatchesATicksEventsInOrderForEveryDeviceIncludingTheSubject() {
        let board = Switchboard<FakeConnection>()
        _ = board.register("a", a)
        _ = board.register("b", b)
        guard case .everyone(let events)? = board.takePresence() else { Issue.record("expected one batch"); return }
        #expect(events == [PresenceEvent(device: "a", online: true), PresenceEvent(device: "b", online: true)])
        #expect(board.takePresence() == nil)
        board.unregister("a", a)
        _ = board.register("c", c)
        guard case .everyone(let next)? = board.takePresence() else { Issue.record("expected one batch"); return }
        #expect(next == [PresenceEvent(device: "a", online: false), PresenceEvent(device: "c", online: true)])
    }

    @Test func replacementAnnouncesNothingAndTheOldConnectionLeavesQuietly() {
        let board = Switchboard<FakeConnection>()
        _ = board.register("a", a)
        _ = board.takePresence()
        let newer = FakeConnection("a2")
        #expect(board.register("a", newer) === a)
        board.unregister("a", a)          // the replaced connection closes
        #expect(board.takePresence() == nil)
        #expect(board.peer(for: "a") === newer)
        board.unregister("a", newer)
        guard case .everyone(let events)? = board.takePresence() else { Issue.record("offline expected"); return }
        #expect(events == [PresenceEvent(device: "a", online: false)])
    }

    @Test func modeOffQueuesNothing() {
        let board = Switchboard<FakeConnection>(presence: .off)
        _ = board.register("a", a)
        board.unregister("a", a)
        #expect(board.takePresence() == nil)
    }

    @Test func watchersHearOnlyAboutDevicesTheyAskedAboutOrTalkedTo() {
        let board = Switchboard<FakeConnection>(presence: .watchers)
        _ = board.register("a", a)
        _ = board.register("b", b)
        #expect(presenceLines(board, everyone: []) == ["a: a online", "b: b online"])
        _ = board.queryStatus(["c"], watcher: a)
        _ = board.register("c", c)
        #expect(presenceLines(board, everyone: []) == ["c: c online", "a: c online"])
        _ = route(board, #"{"from":"b","to":"c","msg":1}"#, from: "b", b)
        board.unregister("c", c)
        #expect(Set(presenceLines(board, everyone: [])) == ["a: c offline", "b: c offline"])
        board.unregister("b", b)
        #expect(presenceLines(board, everyone: []) == [])     // nobody watches b but c, who left
    }

    @Test func aWatchersInterestEndsWithItsConnection() {
        let board = Switchboard<FakeConnection>(presence: .watchers)
        _ = board.register("a", a)
        _ = board.queryStatus(["c"], watcher: a)
        board.unregister("a", a)
        _ = board.takePresence()
        _ = board.register("c", c)
        #expect(presenceLines(board, everyone: []) == ["c: c online"])
    }
}

@Suite struct HeartbeatTests {
    let policy = HeartbeatPolicy(intervalMilliseconds: 1000, timeoutMilliseconds: 500)

    @Test func aSilentConnectionIsPingedThenDeclaredDead() {
        #expect(policy.decide(now: 999, lastSeen: 0, pingSentAt: nil) == .check(at: 1000))
        #expect(policy.decide(now: 1000, lastSeen: 0, pingSentAt: nil) == .ping(thenCheckAt: 1500))
        #expect(policy.decide(now: 1400, lastSeen: 0, pingSentAt: 1000) == .check(at: 1500))
        #expect(policy.decide(now: 1500, lastSeen: 0, pingSentAt: 1000) == .dead)
    }

    @Test func anyFrameAfterThePingCountsAsLife() {
        #expect(policy.decide(now: 1500, lastSeen: 1200, pingSentAt: 1000) == .check(at: 2200))
    }

    @Test func theWheelReturnsOnlyWhatIsDueInOrder() {
        var wheel = TimingWheel<String>(resolution: 100, now: 0)
        wheel.schedule("late", at: 950)
        wheel.schedule("early", at: 120)
        wheel.schedule("mid", at: 480)
        #expect(wheel.takeDue(now: 99).isEmpty)
        #expect(wheel.takeDue(now: 500) == ["early", "mid"])
        wheel.schedule("past", at: 10)        // overdue items come out at the next sweep
        #expect(wheel.takeDue(now: 510) == ["past"])
        #expect(wheel.takeDue(now: 10_000) == ["late"])
        #expect(wheel.count == 0)
    }

    @Test func removedItemsAreNoLongerReferencedOrDue() {
        final class Item {
            var closed = false
        }
        var wheel = TimingWheel<Item>(resolution: 100, now: 0)
        let kept = Item(), later = Item()
        weak var gone: Item?
        do {
            let transient = Item()
            transient.closed = true
            gone = transient
            wheel.schedule(kept, at: 500)
            wheel.schedule(transient, at: 500)
            wheel.schedule(later, at: 900)
            wheel.removeAll { $0.closed }
        }
        #expect(gone == nil)                               // the wheel let go of it
        #expect(wheel.takeDue(now: 600).map { $0 === kept } == [true])
        #expect(wheel.takeDue(now: 1000).map { $0 === later } == [true])
    }
}
