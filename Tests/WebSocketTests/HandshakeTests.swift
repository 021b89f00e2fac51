import Foundation
import Testing
import WebSocket

private func head(_ text: String) -> HTTPRequestHead? {
    var parser = RequestHeadParser()
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { raw -> HTTPRequestHead? in
        if case .head(let head, _) = parser.feed(raw) { return head }
        return nil
    }
}

private let validUpgrade = "GET /chat?device_id=box%201 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    + "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    + "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"

@Suite struct HandshakeTests {
    @Test("4.2.2 the RFC's own accept example") func rfcExample() {
        #expect(Handshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("4.2.2 a valid upgrade gets 101 without echoing protocols or extensions") func validUpgradeAccepted() throws {
        let response = Handshake.respond(to: try #require(head(validUpgrade)))
        #expect(response.status == 101)
        let text = String(decoding: response.serialized(keepAlive: true), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        #expect(!text.contains("Sec-WebSocket-Protocol"))
        #expect(!text.contains("Sec-WebSocket-Extensions"))
    }

    @Test("the server's 101 is byte for byte the response's, with and without extensions") func switchingProtocolsBytes() throws {
        guard case .success(var answer) = Handshake.accept(try #require(head(validUpgrade))) else {
            Issue.record("a valid upgrade was refused")
            return
        }
        #expect(answer.acceptValue == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        for extensions in [nil, "permessage-deflate; server_no_context_takeover"] {
            answer.extensions = extensions
            let written = answer.withSerialized { Array($0) }
            #expect(written == answer.response.serialized(keepAlive: true))
            if extensions == nil { #expect(written == Handshake.respond(to: try #require(head(validUpgrade))).serialized(keepAlive: true)) }
        }
    }

    @Test("4.2.1 invalid upgrades are refused", arguments: [
        ("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", 426),
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Key: c2hvcnQ=", 400),
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Key: not base64 at all!!!!!!!", 400),
        ("Host: server.example.com\r\n", "", 400),
        ("Upgrade: websocket", "Upgrade: h2c", 400),
        ("Connection: keep-alive, Upgrade", "Connection: keep-alive", 400),
        ("GET ", "POST ", 405),
        ("HTTP/1.1\r\n", "HTTP/1.0\r\n", 400),
    ] as [(String, String, Int)])
    func refused(replacing: String, with: String, status: Int) throws {
        let request = try #require(head(validUpgrade.replacingFirst(replacing, with: with)))
        let response = Handshake.respond(to: request)
        #expect(response.status == status)
        if status == 426 { #expect(response.headers.contains { $0 == ("Sec-WebSocket-Version", "13") }) }
    }

    @Test("4.2.1 header names and upgrade tokens are case-insensitive") func caseInsensitive() throws {
        let upper = "GET / HTTP/1.1\r\nHOST: x\r\nUPGRADE: WebSocket\r\nconnection: UPGRADE\r\n"
            + "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n"
        #expect(Handshake.respond(to: try #require(head(upper))).status == 101)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
