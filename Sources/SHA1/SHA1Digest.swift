import CCrypto

/// SHA-1 (FIPS 180-4) where a protocol fixes the hash and security does not rest on it: the
/// WebSocket handshake's accept value (RFC 6455) and the names of Redis scripts (EVALSHA).
/// OpenSSL's low-level calls (see `tether_sha1`): with the CPU's SHA instructions a handshake's
/// hash takes about a third of the time of the Swift rounds it replaced.
public enum SHA1Digest {
    /// The 20-byte digest of `message`.
    public static func hash(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 20) { digest, count in
            hash(message, into: UnsafeMutableRawPointer(digest.baseAddress!))
            count = 20
        }
    }

    /// Writes the 20-byte digest of `message` to `digest` (no array: the handshake's path).
    @inline(__always)
    public static func hash(_ message: UnsafeRawBufferPointer, into digest: UnsafeMutableRawPointer) {
        tether_sha1(message.baseAddress, message.count, digest.assumingMemoryBound(to: UInt8.self))
    }
}

extension SHA1Digest {
    /// The digest as 40 lowercase hex digits (ASCII bytes), as Redis names a script.
    public static func hexDigest(_ message: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789abcdef".utf8)
        return message.withUnsafeBytes { hash($0) }.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] }
    }
}
