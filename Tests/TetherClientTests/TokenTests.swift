import Auth
import Foundation
import Testing
import TetherClient

/// Token mode: status 4 between strangers, pairing by code, refresh.
@Suite(.serialized, .timeLimit(.minutes(2))) struct TokenTests {
    private func token(_ keys: TokenKeys, _ sub: String, kind: DeviceKind, ttl: Int64 = 3600) -> String {
        let now = Int64(Date().timeIntervalSince1970)
        return TokenSigner(hmacSecret: Array(keys.secret.utf8), kid: nil).sign(TokenClaims(sub: sub, exp: now + ttl, iat: now, kind: kind))
    }

    @Test func aMessageToAnUnpairedDeviceThrowsStatusFour() async throws {
        let keys = try TokenKeys()
        let server = try ServerProcess(keys.arguments)
        defer { server.stop() }
        let box = try TetherClient(url: server.url, deviceID: "box-t", token: token(keys, "box-t", kind: .box))
        let phone = try TetherClient(url: server.url, deviceID: "phone-t", token: token(keys, "phone-t", kind: .phone))
        defer { box.close(); phone.close() }
        #expect(await opened(box))
        #expect(await opened(phone))
        do {
            try await phone.send(to: "box-t", msg: ["key": "up"])
            Issue.record("the send was not refused")
        } catch let error as TetherError {
            #expect(error.code == .forbidden && error.status == 4 && error.id != nil)
            #expect(error.message == "not paired with box-t")
        }
    }

    @Test func aPhonePairsByCodeThenTalksToTheBoxAndRefreshes() async throws {
        let keys = try TokenKeys()
        let server = try ServerProcess(keys.arguments)
        defer { server.stop() }
        let box = try TetherClient(url: server.url, deviceID: "box-p", token: token(keys, "box-p", kind: .box))
        defer { box.close() }
        let received = Recorder(box.messages)
        #expect(await opened(box))
        let code = try #require(try await box.command("pairingCode")["data"]?["code"]?.stringValue)

        let pairing = try await TetherClient.pair(url: server.url, code: code)
        #expect(pairing.box == "box-p" && pairing.deviceID.hasPrefix("phone-"))
        #expect(await received.first { $0.from == "server" && $0.msg == "paired" }?.frame["data"]?["phone"]?.stringValue == pairing.deviceID)
        await #expect(throws: TetherError.self) { try await TetherClient.pair(url: server.url, code: code) }   // used

        let phone = try TetherClient(url: server.url, deviceID: pairing.deviceID, token: pairing.token, watch: ["box-p"])
        defer { phone.close() }
        let seen = Recorder(phone.presence)
        #expect(await seen.first { $0.id == "box-p" && $0.state == .online } != nil)
        try await phone.send(to: "box-p", msg: ["key": "ok"])
        #expect(await received.first { $0.from == pairing.deviceID }?.msg == ["key": "ok"])

        let expires = try await phone.refresh(token: token(keys, pairing.deviceID, kind: .phone, ttl: 7200))
        #expect((expires ?? 0) > Int(Date().timeIntervalSince1970) + 3600)
        await #expect(throws: TetherError.self) { try await phone.refresh(token: token(keys, "phone-other", kind: .phone)) }
    }
}
