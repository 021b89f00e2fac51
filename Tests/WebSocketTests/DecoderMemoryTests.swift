import Testing
import WebSocket

/// What a decoder holds for an unfinished message stays within the message limit, however the
/// message is cut into frames and reads (growth by doubling alone held up to twice the limit).
@Suite struct DecoderMemoryTests {
    @Test(arguments: [1, 7, 64, 101, 4096]) func aMessageJustUnderTheLimitIsHeldInAtMostTheLimit(readSize: Int) {
        let limit = 4096
        var bytes: [UInt8] = []
        var sent = 0
        while sent < limit - 8 {   // fragments of 100 bytes, the last one shorter, no FIN yet
            let size = min(100, limit - 8 - sent)
            bytes += clientFrame(sent == 0 ? 1 : 0, [UInt8](repeating: 0x61, count: size), fin: false)
            sent += size
        }
        var decoder = FrameDecoder(role: .server, maxMessageBytes: limit)
        var largest = 0
        var events = 0
        bytes.withUnsafeMutableBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + readSize, all.count)
                decoder.feed(UnsafeMutableRawBufferPointer(rebasing: all[offset..<end])) { _ in events += 1 }
                largest = max(largest, decoder.bufferedBytes)
                offset = end
            }
        }
        #expect(events == 0)
        #expect(largest >= limit - 8)
        #expect(largest <= limit + 64)   // the allocator may round up a little
    }
}
