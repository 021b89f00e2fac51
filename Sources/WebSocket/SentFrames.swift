/// Walks frames this side wrote (unmasked, whole, back to back), for a connection that has to
/// find frame boundaries in bytes it queued: where to split a partial write, which messages never
/// reached the socket.
public enum SentFrames {
    public struct Frame {
        public let opcode: UInt8
        public let start: Int
        public let payload: Range<Int>
        public var end: Int { payload.upperBound }
    }

    /// The frame starting at `offset`, or nil if the bytes end inside its header or payload.
    public static func frame(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Frame? {
        guard offset + 2 <= bytes.count else { return nil }
        let opcode = bytes[offset] & 0x0F
        var length = Int(bytes[offset + 1] & 0x7F)
        var header = 2
        if length == 126 {
            guard offset + 4 <= bytes.count else { return nil }
            length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            header = 4
        } else if length == 127 {
            guard offset + 10 <= bytes.count else { return nil }
            length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[offset + 2 + $1]) }
            header = 10
        }
        let payloadStart = offset + header
        guard length >= 0, payloadStart + length <= bytes.count else { return nil }
        return Frame(opcode: opcode, start: offset, payload: payloadStart..<payloadStart + length)
    }

    /// The first frame boundary at or after `offset` (the end of the bytes if none is found).
    public static func boundary(in bytes: UnsafeRawBufferPointer, atOrAfter offset: Int) -> Int {
        var position = 0
        while position < offset {
            guard let frame = frame(in: bytes, at: position) else { return bytes.count }
            position = frame.end
        }
        return position
    }

    /// Where the frame holding byte `offset` begins (the last frame start at or before it).
    public static func start(in bytes: UnsafeRawBufferPointer, containing offset: Int) -> Int {
        var position = 0
        while let frame = frame(in: bytes, at: position), frame.end <= offset { position = frame.end }
        return position
    }

    /// Every whole frame in `bytes`, in order.
    public static func forEach(in bytes: UnsafeRawBufferPointer, _ body: (Frame) -> Void) {
        var position = 0
        while let frame = frame(in: bytes, at: position) {
            body(frame)
            position = frame.end
        }
    }
}
