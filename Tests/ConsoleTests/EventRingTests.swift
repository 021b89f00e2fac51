import Testing
@testable import Console

@Suite struct EventRingTests {
    @Test func keepsOnlyTheLastCapacityEventsNewestFirst() {
        var ring = EventRing(capacity: 500)
        for index in 1...1234 { ring.record(.connect, device: "d-\(index)", time: Int64(index)) }
        #expect(ring.count == 500)
        let newest = ring.newest()
        #expect(newest.count == 500)
        #expect(newest.first?.device == "d-1234")
        #expect(newest.last?.device == "d-735")
        #expect(zip(newest, newest.dropFirst()).allSatisfy { $0.seq == $1.seq + 1 })
    }

    @Test func filtersByDeviceIdSubstring() {
        var ring = EventRing(capacity: 8)
        ring.record(.connect, device: "box-1", time: 1)
        ring.record(.connect, device: "phone-1", time: 2)
        ring.record(.disconnect, device: "box-1", code: 4002, detail: "kicked", time: 3)
        #expect(ring.newest(matching: "box").map(\.kind) == [.disconnect, .connect])
        #expect(ring.newest(matching: "").count == 3)
        #expect(ring.newest(matching: "nobody").isEmpty)
    }

    @Test func afterGivesWhatCameSinceASeqOldestFirst() {
        var ring = EventRing(capacity: 4)
        for index in 1...6 { ring.record(.connect, device: "d\(index)", time: 0) }
        #expect(ring.after(4).map(\.device) == ["d5", "d6"])
        #expect(ring.after(0).map(\.device) == ["d3", "d4", "d5", "d6"])   // the first two were overwritten
        #expect(ring.after(6).isEmpty)
    }

    @Test func lastDisconnectOfADevice() {
        var ring = EventRing(capacity: 10)
        ring.record(.disconnect, device: "box-1", code: 1000, time: 1)
        ring.record(.connect, device: "box-1", time: 2)
        ring.record(.disconnect, device: "box-1", code: 4002, time: 3)
        ring.record(.disconnect, device: "box-2", code: 1006, time: 4)
        #expect(ring.lastDisconnect(of: "box-1")?.code == 4002)
        #expect(ring.lastDisconnect(of: "box-3") == nil)
    }

    @Test func eventJSONEscapesAndOmitsAZeroCode() {
        var ring = EventRing(capacity: 2)
        ring.record(.authFailure, device: "", detail: "say \"hi\"", time: 5)
        ring.record(.disconnect, device: "a", code: 1006, time: 6)
        #expect(ring.newest()[1].json == #"{"seq":1,"time":5,"kind":"auth_failure","device":"","detail":"say \"hi\""}"#)
        #expect(ring.newest()[0].json == #"{"seq":2,"time":6,"kind":"disconnect","device":"a","code":1006,"detail":""}"#)
    }
}
