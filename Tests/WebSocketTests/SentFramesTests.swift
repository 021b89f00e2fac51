import Testing
import WebSocket

/// Finding frames in bytes a server wrote back to back (what a backlog holds).
@Suite struct SentFramesTests {
    /// Three text frames: 5 bytes, 200 bytes (16-bit length) and 1 byte of payload.
    static let bytes: [UInt8] = [0x81, 5] + Array("hello".utf8)
        + [0x81, 126, 0, 200] + [UInt8](repeating: 0x61, count: 200)
        + [0x81, 1, 0x21]

    @Test func theFrameHoldingAnOffsetStartsAtTheLastFrameStartBeforeIt() {
        Self.bytes.withUnsafeBytes { raw in
            #expect(SentFrames.start(in: raw, containing: 0) == 0)
            #expect(SentFrames.start(in: raw, containing: 6) == 0)
            #expect(SentFrames.start(in: raw, containing: 7) == 7)
            #expect(SentFrames.start(in: raw, containing: 100) == 7)
            #expect(SentFrames.start(in: raw, containing: 210) == 7)
            #expect(SentFrames.start(in: raw, containing: 211) == 211)
            #expect(SentFrames.start(in: raw, containing: 213) == 211)
        }
    }

    @Test func anIncompleteLastFrameStartsWhereItsHeaderDoes() {
        Array(Self.bytes[0..<20]).withUnsafeBytes { raw in
            #expect(SentFrames.start(in: raw, containing: 15) == 7)
        }
    }

    @Test func boundariesAreTheNextFrameStart() {
        Self.bytes.withUnsafeBytes { raw in
            #expect(SentFrames.boundary(in: raw, atOrAfter: 1) == 7)
            #expect(SentFrames.boundary(in: raw, atOrAfter: 7) == 7)
            #expect(SentFrames.boundary(in: raw, atOrAfter: 8) == 211)
        }
    }
}
