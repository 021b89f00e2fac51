import Testing
@testable import WebSocketDeflate

/// RFC 7692 section 7.2.3: the worked examples, byte for byte.
@Suite struct RFC7692ExampleTests {
    let hello = Array("Hello".utf8)

    @Test func section7_2_3_1_helloCompressesToTheRFCBytes() {
        #expect(MessageDeflater().deflate(hello) == hex("f2 48 cd c9 c9 07 00"))
    }

    @Test func section7_2_3_1_rfcBytesInflateToHello() {
        #expect(MessageInflater(maxMessageBytes: 100).inflate(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
    }

    @Test func section7_2_3_2_sharedWindowSecondHelloIsABackReference() {
        let inflater = MessageInflater(maxMessageBytes: 100, keepsContext: true)
        #expect(inflater.inflate(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
        #expect(inflater.inflate(hex("f2 00 11 00 00")) == .success(hello))
    }

    @Test func section7_2_3_2_withoutContextTheBackReferenceIsInvalid() {
        let inflater = MessageInflater(maxMessageBytes: 100)
        #expect(inflater.inflate(hex("f2 48 cd c9 c9 07 00")) == .success(hello))
        #expect(inflater.inflate(hex("f2 00 11 00 00")) == .failure(.invalid))
    }

    @Test func section7_2_3_2_noContextTakeoverCompressesHelloTheSameEachTime() {
        let deflater = MessageDeflater()
        #expect(deflater.deflate(hello) == hex("f2 48 cd c9 c9 07 00"))
        #expect(deflater.deflate(hello) == hex("f2 48 cd c9 c9 07 00"))
    }

    @Test func section7_2_3_3_storedBlock() {
        #expect(MessageInflater(maxMessageBytes: 100).inflate(hex("00 05 00 fa ff 48 65 6c 6c 6f 00")) == .success(hello))
    }

    @Test func section7_2_3_4_blockWithBFINAL() {
        #expect(MessageInflater(maxMessageBytes: 100).inflate(hex("f3 48 cd c9 c9 07 00 00")) == .success(hello))
    }

    @Test func section7_2_3_4_contextSurvivesAFinalBlock() {
        let inflater = MessageInflater(maxMessageBytes: 100, keepsContext: true)
        #expect(inflater.inflate(hex("f3 48 cd c9 c9 07 00 00")) == .success(hello))
        #expect(inflater.inflate(hex("f2 00 11 00 00")) == .success(hello))
    }

    @Test func section7_2_3_5_twoBlocksInOneMessage() {
        #expect(MessageInflater(maxMessageBytes: 100).inflate(hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00")) == .success(hello))
    }

    @Test func section7_2_3_6_emptyMessage() {
        #expect(MessageDeflater().deflate([]) == [0x00])
        #expect(MessageInflater(maxMessageBytes: 100).inflate([0x00]) == .success([]))
        #expect(MessageInflater(maxMessageBytes: 100).inflate([]) == .success([]))
    }

    @Test func section6_compressedFrameHeaderSetsRSV1() {
        var header = [UInt8](repeating: 0, count: 14)
        let length = header.withUnsafeMutableBytes { CompressedFrameHeader.write(opcode: .text, payloadLength: 7, into: $0.baseAddress!) }
        #expect(Array(header[0..<length]) == [0xC1, 0x07], "the RFC's 7.2.3.1 frame starts c1 07")
    }
}
