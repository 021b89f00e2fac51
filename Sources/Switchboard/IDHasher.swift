/// SipHash-1-3, the function `Hasher` computes, of a device id's bytes under a key drawn once per
/// process (`shared`; kept out of the table, whose copies a bigger struct made dearer). Written
/// out so the registry's lookup (one a routed message) hashes inline: `Hasher`'s init,
/// `combine(bytes:)` and `finalize()` are three calls into the runtime, about 170 instructions
/// for a short id against about 70 here. Keyed at random like `Hasher`, so ids chosen
/// to collide cannot be precomputed.
struct IDHasher {
    static let shared = IDHasher()

    private let k0: UInt64
    private let k1: UInt64

    init() {
        var random = SystemRandomNumberGenerator()
        k0 = random.next()
        k1 = random.next()
    }

    @inline(__always)
    func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var state = (k0 ^ 0x736f_6d65_7073_6575, k1 ^ 0x646f_7261_6e64_6f6d, k0 ^ 0x6c79_6765_6e65_7261, k1 ^ 0x7465_6462_7974_6573)
        let count = bytes.count
        var index = 0
        while index + 8 <= count {
            IDHasher.compress(&state, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            index += 8
        }
        // The last block: the remaining bytes, little-endian, and the length in the top byte.
        var last = UInt64(truncatingIfNeeded: count) << 56
        var shift: UInt64 = 0
        while index < count {
            last |= UInt64(bytes[index]) << shift
            shift += 8
            index += 1
        }
        IDHasher.compress(&state, last)
        state.2 ^= 0xFF
        IDHasher.round(&state)
        IDHasher.round(&state)
        IDHasher.round(&state)
        return Int(truncatingIfNeeded: state.0 ^ state.1 ^ state.2 ^ state.3)
    }

    /// One message block, one round (the "1" of SipHash-1-3).
    @inline(__always)
    private static func compress(_ v: inout (UInt64, UInt64, UInt64, UInt64), _ block: UInt64) {
        v.3 ^= block
        round(&v)
        v.0 ^= block
    }

    @inline(__always)
    private static func round(_ v: inout (UInt64, UInt64, UInt64, UInt64)) {
        v.0 &+= v.1; v.1 = rotate(v.1, 13); v.1 ^= v.0; v.0 = rotate(v.0, 32)
        v.2 &+= v.3; v.3 = rotate(v.3, 16); v.3 ^= v.2
        v.0 &+= v.3; v.3 = rotate(v.3, 21); v.3 ^= v.0
        v.2 &+= v.1; v.1 = rotate(v.1, 17); v.1 ^= v.2; v.2 = rotate(v.2, 32)
    }

    @inline(__always)
    private static func rotate(_ x: UInt64, _ n: UInt64) -> UInt64 { x << n | x >> (64 - n) }
}
