import Testing
@testable import Console

@Suite struct ConsoleSampleTests {
    let gauges = ConsoleGauges(devices: [3, 2, 1], connections: 7, queuedBytes: 4096)

    @Test func ratesAreDifferencesPerSecond() {
        var before = CounterReading(at: 10_000)
        before.messagesRouted = 100
        before.replies[5] = 2
        var after = CounterReading(at: 12_000)
        after.messagesRouted = 1100
        after.replies[5] = 8
        after.deviceConnects = 3
        let sample = ConsoleSample(time: 42, gauges: gauges, from: before, to: after)
        #expect(sample.routedPerSecond == 500)
        #expect(sample.repliesPerSecond == [0, 0, 0, 0, 3, 0])
        #expect(sample.connectsPerSecond == 1.5)
    }

    @Test func aFirstReadingAgainstItselfIsAllZero() {
        var reading = CounterReading(at: 5)
        reading.messagesRouted = 99
        let sample = ConsoleSample(time: 0, gauges: gauges, from: reading, to: reading)
        #expect(sample.routedPerSecond == 0)
    }

    @Test func jsonCarriesGaugesAndRatesToOneDecimal() {
        var after = CounterReading(at: 3000)
        after.messagesRouted = 1
        let sample = ConsoleSample(time: 9, gauges: gauges, from: CounterReading(at: 0), to: after)
        #expect(sample.json == #"{"t":9,"box":3,"phone":2,"other":1,"conns":7,"in":0,"out":0,"routed":0.3,"replies":[0,0,0,0,0,0],"queued":4096,"slow":0,"limited":0,"auth":0}"#)
    }

    @Test func historyKeepsTheLastCapacityInOrder() {
        var history = SampleHistory(capacity: 3)
        #expect(history.latest == nil)
        for time in 1...5 {
            history.append(ConsoleSample(time: Int64(time), gauges: gauges, from: CounterReading(at: 0), to: CounterReading(at: 0)))
        }
        #expect(history.ordered.map(\.time) == [3, 4, 5])
        #expect(history.latest?.time == 5)
    }
}

@Suite struct DeviceLedgerTests {
    @Test func countsFollowArrivalsAndLeaves() {
        var ledger = DeviceLedger()
        ledger.arrive("box-1", as: .box, now: 10)
        ledger.arrive("phone-1", as: .phone, now: 11)
        ledger.arrive("box-1", as: .box, now: 12)   // a replacing connection
        #expect(ledger.counts == [1, 1, 0])
        #expect(ledger.arrival(of: "box-1")?.since == 12)
        ledger.leave("box-1")
        ledger.leave("box-1")
        #expect(ledger.counts == [0, 1, 0])
        #expect(MemoryLayout<DeviceLedger.Arrival>.stride == 8)
    }

    @Test(arguments: [("box", "x", DeviceClass.box), ("phone", "box-1", .phone), ("service", "box-1", .other),
                      (nil, "box-7", .box), (nil, "phone-7", .phone), (nil, "tv-7", .other)] as [(String?, String, DeviceClass)])
    func classComesFromTheKindElseThePrefix(kind: String?, id: String, expected: DeviceClass) {
        #expect(DeviceClass(kind: kind, id: id) == expected)
    }
}

@Suite struct LiveFrameTests {
    @Test func eventsAreServerSentEventsWithOneDataLine() {
        let frame = String(decoding: LiveFrame.history(samples: [], events: [], nodes: nil), as: UTF8.self)
        #expect(frame == "event: history\ndata: {\"samples\":[],\"events\":[],\"nodes\":null}\n\n")
        let row = NodeRow(id: "n1", address: "10.0.0.1:8080", devices: 5, messagesPerSecond: 12.25, leaseAgeSeconds: 1, up: true)
        let sample = ConsoleSample(time: 1, gauges: ConsoleGauges(devices: [0, 0, 0], connections: 0, queuedBytes: 0),
                                   from: CounterReading(at: 0), to: CounterReading(at: 0))
        let tick = String(decoding: LiveFrame.tick(sample: sample, events: [], nodes: [row]), as: UTF8.self)
        #expect(tick.hasPrefix("data: {\"sample\":"))
        #expect(tick.hasSuffix(#""nodes":[{"id":"n1","address":"10.0.0.1:8080","devices":5,"msgs":12.3,"lease_age":1,"up":true}]}"# + "\n\n"))
        #expect(tick.dropLast(2).contains("\n") == false)
    }
}
