import Testing
import WebSocket

/// One decoder case: the bytes a client sends and what the server must make of them.
struct DecoderCase: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let expected: [Decoded]
    var maxMessageBytes = 1 << 20
    var testDescription: String { name }
}

extension Decoded: @unchecked Sendable {}

private let text = Array("Hello".utf8)

/// RFC 6455 section 5.2: base framing.
let framingCases: [DecoderCase] = [
    DecoderCase(name: "5.2 single masked text frame", bytes: clientFrame(1, text), expected: [.text(text)]),
    DecoderCase(name: "5.2 empty text frame", bytes: clientFrame(1, []), expected: [.text([])]),
    DecoderCase(name: "5.2 binary frame", bytes: clientFrame(2, [0, 255, 7]), expected: [.binary([0, 255, 7])]),
    DecoderCase(name: "5.2 125-byte payload uses 7-bit length", bytes: clientFrame(2, Array(repeating: 9, count: 125)),
                expected: [.binary(Array(repeating: 9, count: 125))]),
    DecoderCase(name: "5.2 126-byte payload uses 16-bit length", bytes: clientFrame(2, Array(repeating: 3, count: 126)),
                expected: [.binary(Array(repeating: 3, count: 126))]),
    DecoderCase(name: "5.2 65536-byte payload uses 64-bit length", bytes: clientFrame(2, Array(repeating: 5, count: 65536)),
                expected: [.binary(Array(repeating: 5, count: 65536))]),
    DecoderCase(name: "5.2 two frames in one buffer", bytes: clientFrame(1, text) + clientFrame(2, [1]),
                expected: [.text(text), .binary([1])]),
    DecoderCase(name: "5.1 unmasked client frame fails 1002", bytes: clientFrame(1, text, masked: false), expected: [.failure(1002)]),
    DecoderCase(name: "5.2 RSV1 without extension fails 1002", bytes: clientFrame(1, text, rsv: 4), expected: [.failure(1002)]),
    DecoderCase(name: "5.2 RSV2 fails 1002", bytes: clientFrame(1, text, rsv: 2), expected: [.failure(1002)]),
    DecoderCase(name: "5.2 RSV3 fails 1002", bytes: clientFrame(1, text, rsv: 1), expected: [.failure(1002)]),
    DecoderCase(name: "5.2 reserved data opcode 3 fails 1002", bytes: clientFrame(3, []), expected: [.failure(1002)]),
    DecoderCase(name: "5.2 reserved control opcode 11 fails 1002", bytes: clientFrame(11, []), expected: [.failure(1002)]),
    DecoderCase(name: "5.2 64-bit length with top bit set fails 1002",
                bytes: [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4], expected: [.failure(1002)]),
    DecoderCase(name: "5.2 nothing after a failure is decoded", bytes: clientFrame(3, []) + clientFrame(1, text),
                expected: [.failure(1002)]),
    DecoderCase(name: "10.4 message over the limit fails 1009 from the header",
                bytes: Array(clientFrame(2, Array(repeating: 1, count: 101)).prefix(8)), expected: [.failure(1009)],
                maxMessageBytes: 100),
    DecoderCase(name: "10.4 fragments adding up over the limit fail 1009",
                bytes: clientFrame(2, Array(repeating: 1, count: 60), fin: false) + clientFrame(0, Array(repeating: 1, count: 41)),
                expected: [.failure(1009)], maxMessageBytes: 100),
    DecoderCase(name: "10.4 message at exactly the limit passes",
                bytes: clientFrame(2, Array(repeating: 1, count: 100)), expected: [.binary(Array(repeating: 1, count: 100))],
                maxMessageBytes: 100),
]

/// RFC 6455 section 5.4: fragmentation.
let fragmentationCases: [DecoderCase] = [
    DecoderCase(name: "5.4 text in three fragments", bytes: clientFrame(1, Array("Hel".utf8), fin: false)
                + clientFrame(0, Array("l".utf8), fin: false) + clientFrame(0, Array("o".utf8)), expected: [.text(text)]),
    DecoderCase(name: "5.4 binary in two fragments", bytes: clientFrame(2, [1, 2], fin: false) + clientFrame(0, [3]),
                expected: [.binary([1, 2, 3])]),
    DecoderCase(name: "5.4 empty fragments", bytes: clientFrame(1, [], fin: false) + clientFrame(0, [], fin: false) + clientFrame(0, []),
                expected: [.text([])]),
    DecoderCase(name: "5.4 pings interleaved with fragments", bytes: clientFrame(1, Array("He".utf8), fin: false)
                + clientFrame(9, [1]) + clientFrame(0, Array("llo".utf8), fin: false) + clientFrame(10, [2]) + clientFrame(0, []),
                expected: [.ping([1]), .pong([2]), .text(text)]),
    DecoderCase(name: "5.4 continuation without a message fails 1002", bytes: clientFrame(0, text), expected: [.failure(1002)]),
    DecoderCase(name: "5.4 new text inside a fragmented message fails 1002",
                bytes: clientFrame(1, text, fin: false) + clientFrame(1, text), expected: [.failure(1002)]),
    DecoderCase(name: "5.4 new binary inside a fragmented message fails 1002",
                bytes: clientFrame(2, [1], fin: false) + clientFrame(2, [2]), expected: [.failure(1002)]),
    DecoderCase(name: "5.4 message after a completed fragmented one", bytes: clientFrame(1, Array("a".utf8), fin: false)
                + clientFrame(0, Array("b".utf8)) + clientFrame(1, Array("c".utf8)),
                expected: [.text(Array("ab".utf8)), .text(Array("c".utf8))]),
]

/// RFC 6455 section 5.5: control frames.
let controlCases: [DecoderCase] = [
    DecoderCase(name: "5.5.2 ping with payload", bytes: clientFrame(9, [1, 2, 3]), expected: [.ping([1, 2, 3])]),
    DecoderCase(name: "5.5.2 ping with 125 bytes", bytes: clientFrame(9, Array(repeating: 7, count: 125)),
                expected: [.ping(Array(repeating: 7, count: 125))]),
    DecoderCase(name: "5.5 ping with 126 bytes fails 1002", bytes: clientFrame(9, Array(repeating: 7, count: 126)),
                expected: [.failure(1002)]),
    DecoderCase(name: "5.5 fragmented ping fails 1002", bytes: clientFrame(9, [1], fin: false), expected: [.failure(1002)]),
    DecoderCase(name: "5.5.3 unsolicited pong is reported", bytes: clientFrame(10, [4]), expected: [.pong([4])]),
    DecoderCase(name: "5.5.1 empty close", bytes: clientFrame(8, []), expected: [.close(nil, [])]),
    DecoderCase(name: "5.5.1 close with code and reason", bytes: clientFrame(8, [0x03, 0xE8] + Array("bye".utf8)),
                expected: [.close(1000, Array("bye".utf8))]),
    DecoderCase(name: "5.5.1 nothing is processed after close", bytes: clientFrame(8, [0x03, 0xE8]) + clientFrame(1, text),
                expected: [.close(1000, [])]),
]

/// RFC 6455 section 5.6 and 8.1: text must be UTF-8.
let utf8Cases: [DecoderCase] = [
    DecoderCase(name: "5.6 multi-byte UTF-8 text", bytes: clientFrame(1, Array("κόσμε €𝄞".utf8)), expected: [.text(Array("κόσμε €𝄞".utf8))]),
    DecoderCase(name: "5.6 code point split across fragments", bytes: clientFrame(1, [0xE2, 0x82], fin: false) + clientFrame(0, [0xAC]),
                expected: [.text([0xE2, 0x82, 0xAC])]),
    DecoderCase(name: "8.1 invalid byte fails 1007", bytes: clientFrame(1, [0x61, 0xFF]), expected: [.failure(1007)]),
    DecoderCase(name: "8.1 surrogate fails 1007", bytes: clientFrame(1, [0xED, 0xA0, 0x80]), expected: [.failure(1007)]),
    DecoderCase(name: "8.1 overlong encoding fails 1007", bytes: clientFrame(1, [0xC0, 0xAF]), expected: [.failure(1007)]),
    DecoderCase(name: "8.1 above U+10FFFF fails 1007", bytes: clientFrame(1, [0xF4, 0x90, 0x80, 0x80]), expected: [.failure(1007)]),
    DecoderCase(name: "8.1 text ending mid-sequence fails 1007", bytes: clientFrame(1, [0x61, 0xE2, 0x82]), expected: [.failure(1007)]),
    DecoderCase(name: "8.1 invalid fragment fails before the message ends",
                bytes: clientFrame(1, Array("ok".utf8), fin: false) + clientFrame(0, [0xFF], fin: false), expected: [.failure(1007)]),
    DecoderCase(name: "5.6 binary is not checked for UTF-8", bytes: clientFrame(2, [0xFF, 0xFE]), expected: [.binary([0xFF, 0xFE])]),
]

/// RFC 6455 section 7.4: close codes on the wire.
let closeCodeCases: [DecoderCase] = {
    var cases: [DecoderCase] = []
    for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
        cases.append(DecoderCase(name: "7.4 close code \(code) accepted", bytes: clientFrame(8, [UInt8(code >> 8), UInt8(code & 0xFF)]),
                                 expected: [.close(code, [])]))
    }
    for code: UInt16 in [0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 2000, 2999, 5000, 65535] {
        cases.append(DecoderCase(name: "7.4 close code \(code) rejected 1002", bytes: clientFrame(8, [UInt8(code >> 8), UInt8(code & 0xFF)]),
                                 expected: [.failure(1002)]))
    }
    cases.append(DecoderCase(name: "5.5.1 close payload of one byte fails 1002", bytes: clientFrame(8, [3]), expected: [.failure(1002)]))
    cases.append(DecoderCase(name: "7.4 close reason not UTF-8 fails 1007", bytes: clientFrame(8, [3, 0xE8, 0xFF]), expected: [.failure(1007)]))
    return cases
}()

@Suite struct DecoderTableTests {
    @Test("RFC 6455 5.2 framing", arguments: framingCases) func framing(_ c: DecoderCase) { check(c) }
    @Test("RFC 6455 5.4 fragmentation", arguments: fragmentationCases) func fragmentation(_ c: DecoderCase) { check(c) }
    @Test("RFC 6455 5.5 control frames", arguments: controlCases) func control(_ c: DecoderCase) { check(c) }
    @Test("RFC 6455 5.6 data frames and UTF-8", arguments: utf8Cases) func utf8(_ c: DecoderCase) { check(c) }
    @Test("RFC 6455 7.4 close codes", arguments: closeCodeCases) func closeCodes(_ c: DecoderCase) { check(c) }

    /// Each case fed whole, byte by byte, and split at every point gives the same events.
    private func check(_ c: DecoderCase) {
        let (events, mismatch) = decodeUnderAllChunkings(c.bytes, maxMessageBytes: c.maxMessageBytes)
        #expect(events == c.expected, "\(c.name)")
        #expect(mismatch == nil, "\(c.name): chunking \(mismatch ?? []) differs")
    }

    @Test func clientRoleRejectsMaskedServerFrames() {
        #expect(decode(clientFrame(1, text), chunks: [clientFrame(1, text).count], role: .client) == [.failure(1002)])
        let plain = clientFrame(1, text, masked: false)
        #expect(decode(plain, chunks: [plain.count], role: .client) == [.text(text)])
    }

    @Test func largeFrameSplitAcrossManyReadsIsReassembled() {
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 95 + 32) }
        let frame = clientFrame(1, payload)
        var chunks: [Int] = []
        var left = frame.count
        var size = 1
        while left > 0 { chunks.append(min(size, left)); left -= chunks.last!; size = size * 3 % 65_521 + 1 }
        #expect(decode(frame, chunks: chunks) == [.text(payload)])
    }
}

/// RFC 7692 section 6: with permessage-deflate negotiated, RSV1 marks a compressed message on its
/// first frame only; the payload is handed out as is (inflating is the deflate module's job).
@Suite struct CompressedMessageTests {
    let deflated: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]   // "Hello" (section 7.2.3.1)

    @Test func rsv1OnAFirstTextFrameIsACompressedMessageWhenNegotiated() {
        let result = decodeUnderAllChunkings(clientFrame(1, deflated, rsv: 4), compression: true)
        #expect(result.mismatch == nil)
        #expect(result.events == [.compressedText(deflated)])
    }

    @Test func aFragmentedCompressedMessageCarriesRSV1OnlyOnItsFirstFrame() {
        let bytes = clientFrame(1, Array(deflated[0..<3]), fin: false, rsv: 4) + clientFrame(0, Array(deflated[3...]))
        let result = decodeUnderAllChunkings(bytes, compression: true)
        #expect(result.mismatch == nil)
        #expect(result.events == [.compressedText(deflated)])
    }

    @Test func compressedTextIsNotCheckedAsUTF8BeforeInflating() {
        #expect(decode(clientFrame(1, [0xFF, 0xFE], rsv: 4), chunks: [8], compression: true) == [.compressedText([0xFF, 0xFE])])
    }

    @Test func rsv1OnAContinuationOrControlFrameIsAProtocolError() {
        let continuation = clientFrame(1, [0x41], fin: false) + clientFrame(0, [0x42], rsv: 4)
        #expect(decodeUnderAllChunkings(continuation, compression: true).events == [.failure(1002)])
        #expect(decodeUnderAllChunkings(clientFrame(9, [], rsv: 4), compression: true).events == [.failure(1002)])
    }

    @Test func withoutNegotiationRSV1StillFails() {
        #expect(decodeUnderAllChunkings(clientFrame(1, deflated, rsv: 4)).events == [.failure(1002)])
    }
}
