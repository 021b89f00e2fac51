import Testing
import TLS

@Suite struct CloseTests {
    private func openLink() throws -> Link {
        let pair = TestPKI.shared.first
        let link = Link(context: try TLSContext(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM))
        try #require(link.handshake())
        return link
    }

    @Test func clientCloseNotifyIsReportedAndAnswered() throws {
        let link = try openLink()
        link.client.sendCloseNotify()
        link.toServer()
        #expect(link.serverSawPeerClose)
        link.server.close()
        link.toClient()
        #expect(link.client.read().closed)
    }

    @Test func serverCloseSendsCloseNotify() throws {
        let link = try openLink()
        link.server.close()
        #expect(link.server.pendingCiphertextCount > 0)
        link.toClient()
        #expect(link.client.read().closed)
    }

    @Test func writeAfterCloseOrBeforeHandshakeIsRefused() throws {
        let pair = TestPKI.shared.first
        let context = try TLSContext(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
        let fresh = TLSSession(context: context)
        #expect(throws: TLSError.notOpen) { try [UInt8]([1, 2, 3]).withUnsafeBytes { try fresh.write($0) } }

        let link = try openLink()
        link.server.close()
        #expect(throws: TLSError.notOpen) { try [UInt8]([1, 2, 3]).withUnsafeBytes { try link.server.write($0) } }
    }

    @Test func bytesAfterCloseNotifyAreIgnored() throws {
        let link = try openLink()
        link.client.sendCloseNotify()
        link.toServer()
        link.feedServer([0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5])
        #expect(link.serverFailures.isEmpty)
        #expect(link.serverReceived.isEmpty)
    }
}
