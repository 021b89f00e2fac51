import WebSocket

/// Frame headers for compressed messages: RSV1 marks a message's first frame as compressed
/// (RFC 7692 section 6); continuation and control frames never carry it.
public enum CompressedFrameHeader {
    /// Writes an unfragmented server frame header with RSV1 set at `destination` (room for
    /// `FrameHeader.maxSize` bytes); returns its length.
    @discardableResult
    public static func write(opcode: Opcode, payloadLength: Int, into destination: UnsafeMutableRawPointer) -> Int {
        let length = FrameHeader.write(opcode: opcode, payloadLength: payloadLength, into: destination)
        destination.storeBytes(of: destination.load(as: UInt8.self) | 0x40, as: UInt8.self)
        return length
    }
}
