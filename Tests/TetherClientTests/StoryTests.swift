import Foundation
import Testing
import TetherClient

/// The seed's story against the real server: a box and a phone, three messages in order, the box
/// drops and the phone sees it go offline.
@Suite(.serialized, .timeLimit(.minutes(2))) struct StoryTests {
    @Test func phoneDrivesTheBoxAndSeesItLeave() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let box = try TetherClient(url: server.url, deviceID: "box-1")
        let phone = try TetherClient(url: server.url, deviceID: "phone-1", watch: ["box-1"])
        defer { phone.close() }
        let received = Recorder(box.messages)
        let seen = Recorder(phone.presence)
        #expect(await opened(box))
        #expect(await seen.first { $0.id == "box-1" && $0.state == .online } != nil)

        for key in ["up", "right", "ok"] {
            try await phone.send(to: "box-1", msg: ["type": "key", "key": .string(key)])
        }
        #expect(await received.wait { $0.count == 3 })
        #expect(received.all.map(\.from) == ["phone-1", "phone-1", "phone-1"])
        #expect(received.all.map { $0.msg["key"]?.stringValue } == ["up", "right", "ok"])

        box.close()
        // The phone's first presence query may have answered "offline" before the box arrived: the
        // change looked for is the one from online.
        let gone = await seen.first { $0.id == "box-1" && $0.state == .offline && $0.previous == .online }
        #expect(gone?.announced == true)
        #expect(await phone.presenceMap() == ["box-1": .offline])
    }

    @Test func aSendToAnOfflineDeviceThrowsStatusOneWithItsID() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let phone = try TetherClient(url: server.url, deviceID: "phone-2")
        defer { phone.close() }
        #expect(await opened(phone))
        let delivered = try await phone.send(to: "phone-2", msg: "to myself")
        do {
            try await phone.send(to: "box-nowhere", msg: ["key": "up"])
            Issue.record("the send was not refused")
        } catch let error as TetherError {
            #expect(error.code == .offline && error.status == 1 && error.id == delivered + 1)
            #expect(error.message == "target offline")
            #expect(error.data == ["box-nowhere": "offline"])
        }
        await #expect(throws: TetherError.self) { try await phone.command("noSuchCommand") }
    }

    @Test func aSendWithATTLToAnOfflineDeviceIsKeptAndArrivesWhenItConnects() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let phone = try TetherClient(url: server.url, deviceID: "phone-3")
        defer { phone.close() }
        #expect(await opened(phone))
        let id = try await phone.send(to: "box-3", msg: ["type": "pair"], ttl: 30)
        let box = try TetherClient(url: server.url, deviceID: "box-3")
        defer { box.close() }
        let received = Recorder(box.messages)
        #expect(await received.wait { $0.count == 1 })
        #expect(received.all.first?.msg["type"]?.stringValue == "pair")
        #expect(received.all.first?.frame["id"]?.intValue == id)
    }

    @Test func aReplacedClientStopsAndSaysWhy() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let first = try TetherClient(url: server.url, deviceID: "box-twice")
        defer { first.close() }
        let events = Recorder(first.events)
        #expect(await opened(first))
        let second = try TetherClient(url: server.url, deviceID: "box-twice")
        defer { second.close() }
        #expect(await events.first { $0 == .stopped(.replaced) } != nil)
        #expect(await opened(second))
        try await Task.sleep(for: .milliseconds(300))
        #expect(await second.isConnected())   // no retry pushed it out
        let refused = await #expect(throws: TetherError.self) { try await first.send(to: "box-twice", msg: 1) }
        #expect(refused?.code == .notConnected)
    }
}
