import TestSupport
import Testing
@testable import WebSocketDeflate

@Suite struct InflateLimitTests {
    @Test func zipBombStopsAtTheLimit() {
        let zeros = [UInt8](repeating: 0, count: 10_000_000)
        let bomb = MessageDeflater(level: 9).deflate(zeros)
        #expect(bomb.count < 12_000, "10 MB of zeros compress to about 10 KB")
        let limit = 1 << 20
        let inflater = MessageInflater(maxMessageBytes: limit)
        var called = false
        let error = bomb.withUnsafeBytes { inflater.inflate($0) { _ in called = true } }
        #expect(error == .tooBig)
        #expect(error?.closeCode.rawValue == 1009)
        #expect(!called)
        #expect(inflater.lastOutputCount <= limit)
    }

    @Test func messageOfExactlyTheLimitPassesAndOneMoreByteDoesNot() {
        let message = jsonMessage(bytes: 5000)
        let compressed = MessageDeflater().deflate(message)
        #expect(MessageInflater(maxMessageBytes: message.count).inflate(compressed) == .success(message))
        let short = MessageInflater(maxMessageBytes: message.count - 1)
        #expect(short.inflate(compressed) == .failure(.tooBig))
        #expect(short.lastOutputCount == message.count - 1)
    }

    @Test func inflaterIsUsableAfterATooBigMessage() {
        let inflater = MessageInflater(maxMessageBytes: 100)
        #expect(inflater.inflate(MessageDeflater().deflate([UInt8](repeating: 1, count: 1000))) == .failure(.tooBig))
        #expect(inflater.inflate(hex("f2 48 cd c9 c9 07 00")) == .success(Array("Hello".utf8)))
    }

    @Test func invalidDataIsReported() {
        let inflater = MessageInflater(maxMessageBytes: 1000)
        // BTYPE 11 is reserved.
        #expect(inflater.inflate([0xFF, 0xFF, 0xFF]) == .failure(.invalid))
        #expect(InflateError.invalid.closeCode.rawValue == 1007)
        // A stored block whose length and its complement disagree.
        #expect(inflater.inflate([0x00, 0x05, 0x00, 0x00, 0x00]) == .failure(.invalid))
        #expect(inflater.inflate(hex("f2 48 cd c9 c9 07 00")) == .success(Array("Hello".utf8)), "the shared inflater recovers")
    }

    @Test func randomGarbageNeverInflatesPastTheLimit() {
        var random = SplitMix(seed: 5)
        let inflater = MessageInflater(maxMessageBytes: 4096)
        for _ in 0..<500 {
            let garbage = random.bytes(Int(random.next() % 300))
            var size = 0
            _ = garbage.withUnsafeBytes { inflater.inflate($0) { size = $0.count } }
            #expect(size <= 4096 && inflater.lastOutputCount <= 4096)
        }
    }
}
