/// XORs `bytes` in place with the 4-byte masking key (RFC 6455 section 5.3), eight bytes at a
/// time. `offset` is how many payload bytes came before these, so a payload unmasked in pieces
/// across reads lines up with the key. Hand-written: it runs over every byte a client sends.
@inline(__always)
public func applyMask(_ key: UInt32, offset: Int, to bytes: UnsafeMutableRawBufferPointer) {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    #if _endian(little)
    // `key` holds the key's bytes in wire order as a little-endian word; rotate so byte 0 of
    // this slice meets key byte `offset % 4`.
    let shift = UInt32((offset & 3) * 8)
    let rotated = shift == 0 ? key : (key >> shift) | (key << (32 - shift))
    let wide = UInt64(rotated) | UInt64(rotated) << 32
    let count = bytes.count
    var index = 0
    while index + 8 <= count {
        let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
        base.storeBytes(of: word ^ wide, toByteOffset: index, as: UInt64.self)
        index += 8
    }
    var tail = rotated
    while index < count {
        let byte = base.load(fromByteOffset: index, as: UInt8.self)
        base.storeBytes(of: byte ^ UInt8(truncatingIfNeeded: tail), toByteOffset: index, as: UInt8.self)
        tail = (tail >> 8) | (tail << 24)
        index += 1
    }
    #else
    withUnsafeBytes(of: key) { keyBytes in
        for index in 0..<bytes.count {
            bytes[index] ^= keyBytes[(offset + index) & 3]
        }
    }
    #endif
}
