import TestSupport
import Testing
import TLS

@Suite struct DataTransferTests {
    private func openLink() throws -> Link {
        let pair = TestPKI.shared.first
        let link = Link(context: try TLSContext(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM))
        try #require(link.handshake())
        return link
    }

    @Test func smallMessageSplitAtEveryByteArrivesWhole() throws {
        let link = try openLink()
        let message = Array("GET /?device_id=box-1 HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        link.client.write(message)
        link.toServer(chunk: { _ in 1 })
        #expect(link.serverReceived == message)

        let reply = Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8)
        try reply.withUnsafeBytes { try link.server.write($0) }
        for byte in link.serverOutput() { link.client.receive([byte]) }
        #expect(link.client.read().bytes == reply)
    }

    @Test func largeMessageInRandomChunksBothWays() throws {
        let link = try openLink()
        var random = SplitMix(seed: 7)
        let message = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        link.client.write(message)
        link.toServer(chunk: { remaining in Int(random.next() % UInt64(min(remaining, 40_000))) + 1 })
        #expect(link.serverReceived == message)

        var offset = 0
        while offset < message.count {
            let count = min(Int(random.next() % 50_000) + 1, message.count - offset)
            try message[offset..<offset + count].withUnsafeBytes { try link.server.write($0) }
            offset += count
        }
        let ciphertext = link.serverOutput()
        var index = 0
        var received = [UInt8]()
        while index < ciphertext.count {
            let count = min(Int(random.next() % 20_000) + 1, ciphertext.count - index)
            link.client.receive(Array(ciphertext[index..<index + count]))
            received += link.client.read().bytes
            index += count
        }
        #expect(received == message)
    }

    @Test func plaintextBufferSmallerThanARecordYieldsSeveralChunks() throws {
        let link = try openLink()
        link.plaintextBufferSize = 100
        let message = (0..<5000).map { UInt8(truncatingIfNeeded: $0) }
        link.client.write(message)
        link.toServer()
        #expect(link.serverReceived == message)
    }

    @Test func ciphertextBufferMayServeAsThePlaintextBuffer() throws {
        let link = try openLink()
        let message = Array(repeating: UInt8(ascii: "x"), count: 3000)
        link.client.write(message)
        var buffer = link.client.takeOutput()
        let count = buffer.count
        buffer.withUnsafeMutableBytes { bytes in
            link.server.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), plaintextBuffer: bytes, link.record)
        }
        #expect(link.serverReceived == message)
    }

    @Test func handlerMayAnswerFromInsideTheCallback() throws {
        let link = try openLink()
        link.client.write(Array("ping".utf8))
        var plaintext = [UInt8](repeating: 0, count: 1024)
        link.client.takeOutput().withUnsafeBytes { ciphertext in
            plaintext.withUnsafeMutableBytes { buffer in
                link.server.feed(ciphertext, plaintextBuffer: buffer) { event in
                    guard case .plaintext(let bytes) = event else { return }
                    #expect(Array(bytes) == Array("ping".utf8))
                    try? Array("pong".utf8).withUnsafeBytes { try link.server.write($0) }
                }
            }
        }
        link.toClient()
        #expect(link.client.read().bytes == Array("pong".utf8))
    }

    @Test func drainedSessionHoldsNoCiphertext() throws {
        let link = try openLink()
        try Array(repeating: UInt8(1), count: 100_000).withUnsafeBytes { try link.server.write($0) }
        #expect(link.server.pendingCiphertextCount > 100_000)
        _ = link.serverOutput()
        #expect(link.server.pendingCiphertextCount == 0)
    }
}
