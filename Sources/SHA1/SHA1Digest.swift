/// SHA-1 (FIPS 180-4) where a protocol fixes the hash and security does not rest on it: the
/// WebSocket handshake's accept value (RFC 6455) and the names of Redis scripts (EVALSHA). In
/// Swift, on the stack: OpenSSL 3's one-shot `SHA1` fetches its provider on every call and, on
/// first use, maps about 2 MB of libcrypto into the server's memory.
public enum SHA1Digest {
    /// The 20-byte digest of `message`.
    public static func hash(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 20) { digest, count in
            hash(message, into: UnsafeMutableRawPointer(digest.baseAddress!))
            count = 20
        }
    }

    /// Writes the 20-byte digest of `message` to `digest` (no array: the handshake's path).
    public static func hash(_ message: UnsafeRawBufferPointer, into digest: UnsafeMutableRawPointer) {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        // The padded message: the bytes, 0x80, zeros, the bit length (big-endian) ending a block.
        let length = ((message.count + 8) / 64 + 1) * 64
        withUnsafeTemporaryAllocation(byteCount: length + 80 * 4, alignment: 8) { scratch in
            let padded = UnsafeMutableRawBufferPointer(rebasing: scratch[..<length])
            padded.initializeMemory(as: UInt8.self, repeating: 0)
            if let base = message.baseAddress { padded.baseAddress!.copyMemory(from: base, byteCount: message.count) }
            padded[message.count] = 0x80
            padded.storeBytes(of: (UInt64(message.count) * 8).bigEndian, toByteOffset: length - 8, as: UInt64.self)
            let w = UnsafeMutableRawBufferPointer(rebasing: scratch[length...]).bindMemory(to: UInt32.self)
            for block in stride(from: 0, to: length, by: 64) {
                for i in 0..<16 { w[i] = UInt32(bigEndian: padded.loadUnaligned(fromByteOffset: block + i * 4, as: UInt32.self)) }
                for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
                var (a, b, c, d, e) = h
                // Four rounds of twenty, each with its own function and constant (no branch per step).
                round(&a, &b, &c, &d, &e, w, from: 0, 0x5A82_7999) { b, c, d in (b & c) | (~b & d) }
                round(&a, &b, &c, &d, &e, w, from: 20, 0x6ED9_EBA1) { b, c, d in b ^ c ^ d }
                round(&a, &b, &c, &d, &e, w, from: 40, 0x8F1B_BCDC) { b, c, d in (b & c) | (b & d) | (c & d) }
                round(&a, &b, &c, &d, &e, w, from: 60, 0xCA62_C1D6) { b, c, d in b ^ c ^ d }
                h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
            }
        }
        digest.storeBytes(of: h.0.bigEndian, toByteOffset: 0, as: UInt32.self)
        digest.storeBytes(of: h.1.bigEndian, toByteOffset: 4, as: UInt32.self)
        digest.storeBytes(of: h.2.bigEndian, toByteOffset: 8, as: UInt32.self)
        digest.storeBytes(of: h.3.bigEndian, toByteOffset: 12, as: UInt32.self)
        digest.storeBytes(of: h.4.bigEndian, toByteOffset: 16, as: UInt32.self)
    }

    /// Twenty steps, five at a time with the variables' roles rotated by name: a step then moves
    /// no values around (one step at a time shuffled all five, about a third of the work).
    @inline(__always)
    private static func round(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32, _ e: inout UInt32,
                              _ w: UnsafeMutableBufferPointer<UInt32>, from start: Int, _ k: UInt32,
                              _ f: (UInt32, UInt32, UInt32) -> UInt32) {
        var i = start
        while i < start + 20 {
            e = e &+ rotl(a, 5) &+ f(b, c, d) &+ k &+ w[i]
            b = rotl(b, 30)
            d = d &+ rotl(e, 5) &+ f(a, b, c) &+ k &+ w[i + 1]
            a = rotl(a, 30)
            c = c &+ rotl(d, 5) &+ f(e, a, b) &+ k &+ w[i + 2]
            e = rotl(e, 30)
            b = b &+ rotl(c, 5) &+ f(d, e, a) &+ k &+ w[i + 3]
            d = rotl(d, 30)
            a = a &+ rotl(b, 5) &+ f(c, d, e) &+ k &+ w[i + 4]
            c = rotl(c, 30)
            i += 5
        }
    }

    @inline(__always)
    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
}

extension SHA1Digest {
    /// The digest as 40 lowercase hex digits (ASCII bytes), as Redis names a script.
    public static func hexDigest(_ message: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789abcdef".utf8)
        return message.withUnsafeBytes { hash($0) }.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] }
    }
}
