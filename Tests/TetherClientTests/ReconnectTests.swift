import Foundation
import Testing
import TetherClient

@Suite(.serialized, .timeLimit(.minutes(2))) struct ReconnectTests {
    private var fast: TetherClient.Options {
        var options = TetherClient.Options()
        options.backoff = Backoff(base: .milliseconds(50), cap: .milliseconds(400))
        options.queueLimit = 3
        return options
    }

    @Test func reconnectsAfterTheServerRestartsAndFlushesQueuedSendsInOrder() async throws {
        var server = try ServerProcess()
        let port = server.port
        let box = try TetherClient(url: server.url, deviceID: "box-r", options: fast)
        let phone = try TetherClient(url: server.url, deviceID: "phone-r", watch: ["box-r"], options: fast)
        defer { box.close(); phone.close() }
        let events = Recorder(phone.events)
        let received = Recorder(phone.messages)
        let seen = Recorder(phone.presence)
        #expect(await opened(box))
        #expect(await opened(phone))

        #expect(await seen.first { $0.id == "box-r" && $0.state == .online } != nil)
        let learnedBefore = seen.all.count
        server.stop()
        let waiting = await events.first {
            if case .waiting(_, _, let code, _) = $0 { code == 1001 } else { false }
        }
        #expect(waiting != nil)   // "going away" is not a reason to stop
        // Sent while the server is away: queued (up to the limit), then sent in order. To itself,
        // so delivery does not depend on which of the two reconnects first.
        let sends = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 1...3 {
                    group.addTask { try await phone.send(to: "phone-r", msg: ["n": .number(Double(n))]) }
                    try await Task.sleep(for: .milliseconds(20))   // queued in this order
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        let full = await #expect(throws: TetherError.self) { try await phone.send(to: "phone-r", msg: 4) }
        #expect(full?.code == .queueFull)
        let unqueued = await #expect(throws: TetherError.self) { try await phone.send(to: "phone-r", msg: 5, queue: false) }
        #expect(unqueued?.code == .notConnected)

        server = try ServerProcess(port: port)
        defer { server.stop() }
        #expect(await opened(phone, within: 15))
        #expect(await opened(box, within: 15))
        let ids = try await sends.value.sorted()
        #expect(ids.count == 3)
        #expect(await received.wait { $0.count == 3 })
        #expect(received.all.map { $0.msg["n"]?.intValue } == [1, 2, 3])
        // The box is asked about again after the reconnect (or announced when it comes back later).
        #expect(await seen.wait { $0.count > learnedBefore && $0.last { $0.id == "box-r" }?.state == .online })
        try await phone.send(to: "box-r", msg: "after the restart")
    }

    @Test func attemptsWaitLongerWithinTheBounds() async throws {
        let server = try ServerProcess()
        let url = server.url
        server.stop()   // its port now refuses
        var options = TetherClient.Options()
        options.backoff = Backoff(base: .milliseconds(40), cap: .milliseconds(200))
        let client = try TetherClient(url: url, deviceID: "box-alone", options: options)
        defer { client.close() }
        let events = Recorder(client.events)
        let waits: @Sendable ([LinkEvent]) -> [(Duration, Int)] = { events in
            events.compactMap { if case .waiting(let delay, let attempt, _, _) = $0 { (delay, attempt) } else { nil } }
        }
        #expect(await events.wait(within: 10) { waits($0).count >= 6 })
        let seen = waits(events.all).prefix(6)
        #expect(seen.map(\.1) == [0, 1, 2, 3, 4, 5])
        for (delay, attempt) in seen {
            #expect(delay >= .zero && delay.components.attoseconds >= 0)
            #expect(delay < .milliseconds(min(200, 40 << attempt)))
        }
    }
}
