import CSSL
import Testing
import TLS

@Suite struct ReloadTests {
    let pki = TestPKI.shared

    @Test func reloadKeepsLiveSessionsAndNewSessionsSeeTheNewCertificate() throws {
        let context = try TLSContext(certificatePEM: pki.first.certificatePEM, keyPEM: pki.first.keyPEM)
        let before = Link(context: context)
        try #require(before.handshake())
        #expect(before.client.peerCommonName == "first.test")

        try context.reload(certificatePEM: pki.second.certificatePEM, keyPEM: pki.second.keyPEM)

        before.client.write(Array("still here".utf8))
        before.toServer()
        #expect(before.serverReceived == Array("still here".utf8))
        try Array("and so am I".utf8).withUnsafeBytes { try before.server.write($0) }
        before.toClient()
        #expect(before.client.read().bytes == Array("and so am I".utf8))

        let after = Link(context: context)
        #expect(after.handshake())
        #expect(after.client.peerCommonName == "second.test")
    }

    @Test func badReloadThrowsAndLeavesTheOldPair() throws {
        let context = try TLSContext(certificatePEM: pki.first.certificatePEM, keyPEM: pki.first.keyPEM)
        #expect(throws: TLSContextError.self) {
            try context.reload(certificatePEM: pki.second.certificatePEM, keyPEM: pki.first.keyPEM)
        }
        #expect(throws: TLSContextError.self) {
            try context.reload(certificateFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem")
        }
        let link = Link(context: context)
        #expect(link.handshake())
        #expect(link.client.peerCommonName == "first.test")
    }

    @Test func ticketsFromBeforeAReloadFallBackToAFullHandshake() throws {
        let context = try TLSContext(certificatePEM: pki.first.certificatePEM, keyPEM: pki.first.keyPEM)
        let before = Link(context: context)
        try #require(before.handshake())
        _ = before.client.read()
        let session = try #require(before.client.savedSession)
        defer { SSL_SESSION_free(session) }
        try context.reload(certificatePEM: pki.second.certificatePEM, keyPEM: pki.second.keyPEM)
        var options = TestClient.Options()
        options.resuming = session
        let after = Link(context: context, client: TestClient(options))
        #expect(after.handshake())
        #expect(!after.client.resumedSession)
        #expect(after.client.peerCommonName == "second.test")
    }

    @Test func sessionOutlivesItsContext() throws {
        var context: TLSContext? = try TLSContext(certificatePEM: pki.first.certificatePEM, keyPEM: pki.first.keyPEM)
        let link = Link(context: context!)
        context = nil
        #expect(link.handshake())
    }
}
