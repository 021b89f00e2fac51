import CSSL
import Testing
import TLS

private func makeContext(_ pair: TestPKI.Pair = TestPKI.shared.first) throws -> TLSContext {
    try TLSContext(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
}

@Suite struct HandshakeTests {
    @Test func tls13HandshakeCompletesAndALPNChoosesHTTP11() throws {
        let link = Link(context: try makeContext())
        #expect(link.handshake())
        #expect(link.serverHandshakes == 1)
        #expect(link.server.protocolVersion == "TLSv1.3")
        #expect(link.server.negotiatedProtocol == "http/1.1")
        #expect(link.client.negotiatedProtocol == "http/1.1")
        #expect(link.client.verifiedChain)
        #expect(link.client.peerCommonName == "first.test")
    }

    @Test func tls12HandshakeUsesAForwardSecretAEADCipher() throws {
        var options = TestClient.Options()
        options.maxVersion = TLS1_2_VERSION
        let link = Link(context: try makeContext(), client: TestClient(options))
        #expect(link.handshake())
        #expect(link.server.protocolVersion == "TLSv1.2")
        let cipher = String(cString: SSL_CIPHER_get_name(SSL_get_current_cipher(link.client.ssl)))
        #expect(cipher.hasPrefix("ECDHE-ECDSA-") && (cipher.contains("GCM") || cipher.contains("CHACHA20")))
        #expect(link.server.negotiatedProtocol == "http/1.1")
    }

    @Test func clientOfferingNoALPNStillConnects() throws {
        var options = TestClient.Options()
        options.alpn = []
        let link = Link(context: try makeContext(), client: TestClient(options))
        #expect(link.handshake())
        #expect(link.server.negotiatedProtocol == nil)
    }

    @Test func clientOfferingOnlyH2ConnectsWithoutALPN() throws {
        var options = TestClient.Options()
        options.alpn = ["h2"]
        let link = Link(context: try makeContext(), client: TestClient(options))
        #expect(link.handshake())
        #expect(link.server.negotiatedProtocol == nil)
    }

    @Test func handshakeBytesSplitAtEveryByteStillComplete() throws {
        let link = Link(context: try makeContext())
        for _ in 0..<10 where !(link.client.handshakeDone && link.server.handshakeDone) {
            link.client.handshake()
            link.toServer(chunk: { _ in 1 })
            link.toClient()
        }
        #expect(link.client.handshakeDone && link.server.handshakeDone)
        #expect(link.serverFailures.isEmpty)
    }

    @Test(arguments: [TLS1_3_VERSION, TLS1_2_VERSION])
    func returningClientResumesWithItsTicket(version: Int32) throws {
        let context = try makeContext()
        var options = TestClient.Options()
        options.maxVersion = version
        let first = Link(context: context, client: TestClient(options))
        try #require(first.handshake())
        _ = first.client.read()   // takes in the ticket (TLS 1.3 sends it after the handshake)
        let session = try #require(first.client.savedSession)
        defer { SSL_SESSION_free(session) }
        options.resuming = session
        let second = Link(context: context, client: TestClient(options))
        #expect(second.handshake())
        #expect(second.client.resumedSession)
    }

    @Test func certificatesMadeWithTheCAPIWorkToo() throws {
        let pki = TestPKI.cAPI()
        var options = TestClient.Options()
        options.trustedCAPEM = pki.caPEM
        let link = Link(context: try makeContext(pki.first), client: TestClient(options))
        #expect(link.handshake())
        #expect(link.client.verifiedChain)
        #expect(link.client.peerCommonName == "first.test")
    }
}
