import TestSupport
import CZlib
import Testing
@testable import WebSocketDeflate

@Suite struct RoundTripTests {
    @Test(arguments: [0, 1, 5, 125, 126, 1000, 4096, 65_536, 300_000])
    func randomBytesRoundTrip(size: Int) {
        var random = SplitMix(seed: UInt64(size))
        let message = random.bytes(size)
        let deflater = MessageDeflater()
        let inflater = MessageInflater(maxMessageBytes: 1 << 20)
        #expect(inflater.inflate(deflater.deflate(message)) == .success(message))
    }

    @Test(arguments: [64, 128, 512, 1024, 16_384, 200_000])
    func jsonRoundTripsSmaller(size: Int) throws {
        let message = jsonMessage(bytes: size)
        let compressed = try #require(MessageDeflater(minimumSize: 0).compress(message))
        #expect(compressed.count < message.count)
        #expect(MessageInflater(maxMessageBytes: 1 << 20).inflate(compressed) == .success(message))
    }

    @Test(arguments: 8...15)
    func everyWindowSizeStaysWithinItsWindow(windowBits: Int) {
        // Repeats at distances of 251 to 300 bytes: past a 256-byte window, though within the
        // 512-byte zlib window used when 8 bits are asked for; zlib must not refer to them.
        var random = SplitMix(seed: 3)
        var message: [UInt8] = []
        for _ in 0..<400 {
            let block = random.bytes(Int(random.next() % 50) + 251)
            message += block + block.prefix(40)
        }
        let compressed = MessageDeflater().deflate(message, windowBits: windowBits)
        #expect(MessageInflater(maxMessageBytes: 1 << 20, windowBits: windowBits).inflate(compressed) == .success(message))
        let withinWindow = inflateOneByteAtATime(compressed, windowBits: windowBits) == message
        #expect(withinWindow, "a receiver with only a 2^windowBits window inflates it")
    }

    /// Output one byte per call makes zlib rely on its window alone, so a reference farther back
    /// than 2^windowBits fails ("invalid distance too far back"), as it would for a small client.
    private func inflateOneByteAtATime(_ compressed: [UInt8], windowBits: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, -Int32(windowBits), ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = compressed + [0x00, 0x00, 0xFF, 0xFF]
        var output: [UInt8] = []
        var byte: UInt8 = 0
        return input.withUnsafeMutableBufferPointer { source -> [UInt8]? in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while stream.avail_in > 0 {
                let status = withUnsafeMutablePointer(to: &byte) { target -> Int32 in
                    stream.next_out = target
                    stream.avail_out = 1
                    return inflate(&stream, Z_SYNC_FLUSH)
                }
                guard status == Z_OK || status == Z_BUF_ERROR else { return nil }
                if stream.avail_out == 0 { output.append(byte) }
            }
            while true {   // what a last call still holds back
                let status = withUnsafeMutablePointer(to: &byte) { target -> Int32 in
                    stream.next_out = target
                    stream.avail_out = 1
                    return inflate(&stream, Z_SYNC_FLUSH)
                }
                guard status == Z_OK, stream.avail_out == 0 else { break }
                output.append(byte)
            }
            return output
        }
    }

    @Test func oneInflaterServesManyMessagesWithoutContext() {
        let deflater = MessageDeflater()
        let inflater = MessageInflater(maxMessageBytes: 1 << 20)
        for seed in 1...20 {
            let message = jsonMessage(bytes: 100 * seed, seed: UInt64(seed))
            #expect(inflater.inflate(deflater.deflate(message)) == .success(message))
        }
    }

    @Test func shortAndIncompressibleMessagesStayUncompressed() {
        let deflater = MessageDeflater(minimumSize: 128)
        #expect(deflater.compress(jsonMessage(bytes: 100)) == nil, "under the minimum size")
        var random = SplitMix(seed: 9)
        #expect(deflater.compress(random.bytes(1000)) == nil, "random bytes do not shrink")
        #expect(deflater.compress(jsonMessage(bytes: 1000)) != nil)
    }

    @Test func largeOutputBufferIsGivenBackAfterTheMessage() {
        let inflater = MessageInflater(maxMessageBytes: 1 << 22, retainedOutputBytes: 1024)
        let message = [UInt8](repeating: 7, count: 1 << 21)
        #expect(inflater.inflate(MessageDeflater().deflate(message)) == .success(message))
        #expect(inflater.inflate(MessageDeflater().deflate(Array("small".utf8))) == .success(Array("small".utf8)))
    }
}
