@testable import BenchKit
import Foundation
import TLS
import Testing
import WebSocket
import WebSocketDeflate

/// An ECDSA P-256 certificate and key, as scripts/bench.sh makes them (`openssl req -x509`).
private func benchCertificate() throws -> (certificate: [UInt8], key: [UInt8]) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-bench-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", "key.pem", "-out", "cert.pem"]
    process.currentDirectoryURL = directory
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return (Array(try Data(contentsOf: directory.appendingPathComponent("cert.pem"))),
            Array(try Data(contentsOf: directory.appendingPathComponent("key.pem"))))
}

/// The bench's client session and the server's session, joined over memory.
private final class MemoryLink {
    let client: TLSSession
    let server: TLSSession
    var clientReceived: [UInt8] = []
    var serverReceived: [UInt8] = []
    var clientEvents: [String] = []
    var serverEvents: [String] = []
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)

    init(client: TLSSession, server: TLSSession) {
        self.client = client
        self.server = server
    }

    /// Moves ciphertext both ways until neither side has anything to send.
    func pump() {
        while client.pendingCiphertextCount > 0 || server.pendingCiphertextCount > 0 {
            var toServer: [UInt8] = []
            client.drainCiphertext { toServer += $0 }
            buffer.withUnsafeMutableBytes { plain in
                toServer.withUnsafeBytes { bytes in
                    server.feed(bytes, plaintextBuffer: plain) { event in
                        switch event {
                        case .plaintext(let text): serverReceived += text
                        default: serverEvents.append("\(event)")
                        }
                    }
                }
            }
            var toClient: [UInt8] = []
            server.drainCiphertext { toClient += $0 }
            buffer.withUnsafeMutableBytes { plain in
                toClient.withUnsafeBytes { bytes in
                    client.feed(bytes, plaintextBuffer: plain) { event in
                        switch event {
                        case .plaintext(let text): clientReceived += text
                        default: clientEvents.append("\(event)")
                        }
                    }
                }
            }
        }
    }
}

@Suite struct ClientTLSAndDeflateTests {
    @Test("the bench's TLS client completes a TLS 1.3 handshake with the server's session and bytes round-trip")
    func clientHandshakesWithServerSession() throws {
        let pair = try benchCertificate()
        let link = MemoryLink(client: TLSSession(client: try TLSClientContext()),
                              server: TLSSession(context: try TLSContext(certificatePEM: pair.certificate, keyPEM: pair.key)))
        #expect(link.client.start())
        link.pump()
        #expect(link.client.handshakeDone && link.server.handshakeDone)
        #expect(link.client.protocolVersion == "TLSv1.3")
        #expect(link.server.negotiatedProtocol == "http/1.1")
        #expect(link.clientEvents == ["handshakeCompleted"] && link.serverEvents == ["handshakeCompleted"])

        let request = Array("GET /?device_id=phone-1 HTTP/1.1\r\n\r\n".utf8)
        let large = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }   // three records
        try request.withUnsafeBytes { try link.client.write($0) }
        try large.withUnsafeBytes { try link.server.write($0) }
        link.pump()
        #expect(link.serverReceived == request)
        #expect(link.clientReceived == large)

        link.client.close()
        link.pump()
        #expect(link.serverEvents.last == "peerClosed")
    }

    @Test("the client inflates a 1 KiB message the server's deflater compressed (RFC 7692 7.2.2), frame and all")
    func clientInflatesServerCompressedFrame() throws {
        let message = Array(("{\"from\":\"phone-0\",\"to\":\"box-0\"," + RoutePadding.member(totalBytes: 1024, fixedBytes: 38, seed: 3)
            + "\"msg\":\"1234567:12345678901234\"}").utf8)
        var frame: [UInt8] = []
        let compressed = message.withUnsafeBytes { plain in
            MessageDeflater().compress(plain) { payload in
                var header = [UInt8](repeating: 0, count: FrameHeader.maxSize)
                let count = header.withUnsafeMutableBytes { CompressedFrameHeader.write(opcode: .text, payloadLength: payload.count, into: $0.baseAddress!) }
                frame = Array(header[0..<count]) + payload
            }
        }
        #expect(compressed && frame.count < message.count / 2)

        var decoder = FrameDecoder(role: .client, maxMessageBytes: 1 << 20)
        decoder.acceptsCompression = true
        var inflated: [UInt8]?
        frame.withUnsafeMutableBytes { bytes in
            decoder.feed(bytes) { event in
                guard case .compressed(.text, let payload) = event else { Issue.record("not a compressed text message: \(event)"); return }
                #expect(ClientDeflate.inflate(payload) { inflated = Array($0) } == nil)
            }
        }
        #expect(inflated == message)
    }

    @Test("the server inflates what the client compressed: a masked frame with RSV1")
    func serverInflatesClientCompressedFrame() throws {
        let message = Array(("{\"from\":\"phone-1\",\"to\":\"box-1\"," + RoutePadding.member(totalBytes: 1024, fixedBytes: 38, seed: 1)
            + "\"msg\":\"1:2\"}").utf8)
        var frame: [UInt8] = []
        let compressed = message.withUnsafeBytes { ClientDeflate.withCompressedFrame($0, maskKey: 0x1234_5678) { frame = Array($0) } }
        #expect(compressed && frame[0] == 0xC1)   // FIN, RSV1, text

        var decoder = FrameDecoder(role: .server, maxMessageBytes: 1 << 20)
        decoder.acceptsCompression = true
        let inflater = MessageInflater(maxMessageBytes: 1 << 20)
        var inflated: [UInt8]?
        frame.withUnsafeMutableBytes { bytes in
            decoder.feed(bytes) { event in
                guard case .compressed(.text, let payload) = event else { Issue.record("not a compressed text message: \(event)"); return }
                #expect(inflater.inflate(payload) { inflated = Array($0) } == nil)
            }
        }
        #expect(inflated == message)
    }

    @Test("--message-bytes pads with a JSON member to exactly the size asked, the tail allowed for")
    func paddingIsJSONOfTheRequestedSize() throws {
        let head = "{\"from\":\"phone-12\",\"to\":\"box-12\","
        let padding = RoutePadding.member(totalBytes: 1024, fixedBytes: head.utf8.count + 7, seed: 12)
        let message = head + padding + "\"msg\":\"" + "1234567:12345678901234\"}"
        #expect("1234567:12345678901234\"}".utf8.count == RoutePadding.tailBytes && message.utf8.count == 1024)
        let object = try JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any]
        #expect((object?["data"] as? [String: Any])?["events"] is [Any])
        #expect(RoutePadding.member(totalBytes: 0, fixedBytes: 40, seed: 0) == "")
    }
}
