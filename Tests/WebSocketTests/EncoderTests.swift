import Testing
import WebSocket

@Suite struct EncoderTests {
    @Test("5.2 server frames are unmasked with the minimal length", arguments: [
        (0, [0x81, 0x00]), (125, [0x81, 125]), (126, [0x81, 126, 0, 126]),
        (65535, [0x81, 126, 0xFF, 0xFF]), (65536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] as [(Int, [UInt8])])
    func headerLengths(length: Int, expected: [UInt8]) {
        let header = FrameHeader(opcode: .text, payloadLength: length)
        #expect(header.withUnsafeBytes(Array.init) == expected)
    }

    @Test func encodedServerFramesDecodeOnTheClientSide() {
        for size in [0, 1, 125, 126, 65535, 65536] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
            let frame = payload.withUnsafeBytes { FrameHeader.frame(.binary, $0) }
            #expect(decode(frame, chunks: [frame.count], role: .client) == [.binary(payload)])
        }
    }

    @Test func maskedClientFramesRoundTrip() {
        let payload = Array("masked hello, with a tail".utf8)
        let key: UInt32 = 0xA1B2_C3D4
        var frame = FrameHeader(opcode: .text, payloadLength: payload.count, maskKey: key).withUnsafeBytes(Array.init)
        var body = payload
        body.withUnsafeMutableBytes { applyMask(key, offset: 0, to: $0) }
        frame += body
        #expect(decodeUnderAllChunkings(frame).events == [.text(payload)])
    }

    @Test func closePayloadCarriesCodeAndTrimmedReason() {
        #expect(FrameHeader.closePayload(.messageTooBig, reason: "big") == [0x03, 0xF1] + Array("big".utf8))
        let long = String(repeating: "é", count: 100)
        let payload = FrameHeader.closePayload(.normal, reason: long)
        #expect(payload.count <= 125)
        #expect(payload.dropFirst(2).withUnsafeBytes(UTF8Validator.isValid))
    }

    @Test func maskingAtEveryOffsetMatchesBytewiseXor() {
        let key: [UInt8] = [0x11, 0x22, 0x44, 0x88]
        let keyWord = key.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        let data = (0..<37).map { UInt8($0 * 7 & 0xFF) }
        for offset in 0..<8 {
            var masked = data
            masked.withUnsafeMutableBytes { applyMask(keyWord, offset: offset, to: $0) }
            #expect(masked == data.enumerated().map { $0.element ^ key[($0.offset + offset) % 4] })
        }
    }
}

@Suite struct FootprintTests {
    /// Every idle connection carries a decoder: keep it within one cache line.
    @Test func anIdleDecoderFitsIn64Bytes() {
        #expect(MemoryLayout<FrameDecoder>.size <= 64)
    }
}
