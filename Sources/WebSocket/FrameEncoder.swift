/// A frame header (at most 14 bytes) built on the stack, written before a payload that is
/// never copied to make room for it.
///
/// Inlinable: every routed message gets one, and a call to make it cost about 40 instructions.
public struct FrameHeader {
    public static let maxSize = 14
    @usableFromInline let storage: (UInt64, UInt64)
    public let count: Int

    /// A final frame header with the minimal length encoding. `maskKey` (native load of the 4
    /// key bytes) is set by clients; servers send unmasked frames.
    @inlinable
    public init(opcode: Opcode, payloadLength: Int, fin: Bool = true, maskKey: UInt32? = nil) {
        var storage: (UInt64, UInt64) = (0, 0)
        count = withUnsafeMutableBytes(of: &storage) { bytes in
            FrameHeader.write(opcode: opcode, payloadLength: payloadLength, fin: fin, maskKey: maskKey,
                              into: bytes.baseAddress!)
        }
        self.storage = storage
    }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// Writes a header at `destination` (room for `maxSize` bytes); returns its length.
    @inlinable @discardableResult
    public static func write(opcode: Opcode, payloadLength: Int, fin: Bool = true, maskKey: UInt32? = nil,
                             into destination: UnsafeMutableRawPointer) -> Int {
        destination.storeBytes(of: (fin ? 0x80 : 0) | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var size: Int
        if payloadLength <= 125 {
            destination.storeBytes(of: maskBit | UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
            size = 2
        } else if payloadLength <= 0xFFFF {
            destination.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            size = 4
        } else {
            destination.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            size = 10
        }
        if let maskKey {
            destination.storeBytes(of: maskKey, toByteOffset: size, as: UInt32.self)
            size += 4
        }
        return size
    }
}

extension FrameHeader {
    /// A complete server frame (header + payload) in one array: for small, cold-path frames
    /// such as error replies and close frames.
    public static func frame(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) -> [UInt8] {
        let header = FrameHeader(opcode: opcode, payloadLength: payload.count)
        var bytes = [UInt8]()
        bytes.reserveCapacity(header.count + payload.count)
        header.withUnsafeBytes { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// The payload of a close frame: the code in network order, then the UTF-8 reason
    /// (cut to fit the 125-byte control limit).
    public static func closePayload(_ code: CloseCode, reason: String = "") -> [UInt8] {
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        var utf8 = Array(reason.utf8.prefix(123))
        while !utf8.isEmpty && !utf8.withUnsafeBytes(UTF8Validator.isValid) { utf8.removeLast() }
        payload += utf8
        return payload
    }
}
