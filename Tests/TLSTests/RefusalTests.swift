import TestSupport
import CSSL
import Testing
import TLS

@Suite struct RefusalTests {
    private func makeContext() throws -> TLSContext {
        let pair = TestPKI.shared.first
        return try TLSContext(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
    }

    @Test func tls11ClientIsRefusedWithAnAlert() throws {
        var options = TestClient.Options()
        options.minVersion = TLS1_1_VERSION
        options.maxVersion = TLS1_1_VERSION
        options.cipherList = "DEFAULT:@SECLEVEL=0"   // OpenSSL 3 only sends TLS 1.1 at level 0
        let link = Link(context: try makeContext(), client: TestClient(options))
        link.client.handshake()
        let hello = link.client.takeOutput()
        try #require(hello.count > 10 && hello[0] == 0x16, "the client must really send a ClientHello")
        #expect(hello[9] == 0x03 && hello[10] == 0x02, "ClientHello version is TLS 1.1")
        link.feedServer(hello)
        guard case .handshakeFailed(let reason)? = link.serverFailures.first else {
            Issue.record("expected a handshake failure, got \(link.serverFailures)")
            return
        }
        #expect(reason.contains("unsupported protocol"))
        #expect(link.server.pendingCiphertextCount > 0, "a protocol_version alert is queued")
        #expect(!link.server.handshakeDone)
    }

    @Test func plainHTTPRequestIsReportedAsPlainHTTP() throws {
        let link = Link(context: try makeContext())
        link.feedServer(Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        #expect(link.serverFailures == [.plainHTTP])
        #expect(link.server.pendingCiphertextCount == 0)
        let response = String(decoding: PlainHTTPRefusal.response, as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
    }

    @Test func plainHTTPIsSeenFromItsFirstByte() throws {
        let link = Link(context: try makeContext())
        link.feedServer(Array("G".utf8))
        #expect(link.serverFailures == [.plainHTTP])
    }

    @Test func garbageInsteadOfAClientHelloFailsTheHandshake() throws {
        let link = Link(context: try makeContext())
        link.feedServer([0x16, 0x03, 0x01, 0x00, 0x08, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 0])
        guard case .handshakeFailed? = link.serverFailures.first else {
            Issue.record("expected a handshake failure, got \(link.serverFailures)")
            return
        }
        link.feedServer([1, 2, 3])
        #expect(link.serverFailures.count == 1, "nothing is read after a failure")
    }

    @Test func binaryNoiseFailsTheHandshake() throws {
        let link = Link(context: try makeContext())
        var random = SplitMix(seed: 11)
        link.feedServer([0x00] + (0..<200).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        guard case .handshakeFailed? = link.serverFailures.first else {
            Issue.record("expected a handshake failure, got \(link.serverFailures)")
            return
        }
    }

    @Test func tamperedRecordAfterHandshakeIsAProtocolError() throws {
        let link = Link(context: try makeContext())
        try #require(link.handshake())
        link.client.write(Array("hello".utf8))
        var record = link.client.takeOutput()
        record[record.count - 1] ^= 0x01
        link.feedServer(record)
        guard case .protocolError? = link.serverFailures.first else {
            Issue.record("expected a protocol error, got \(link.serverFailures)")
            return
        }
        #expect(link.serverReceived.isEmpty)
    }
}
