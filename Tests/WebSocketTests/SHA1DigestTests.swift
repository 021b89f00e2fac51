import SHA1
import Testing
@testable import WebSocket

/// The handshake's own SHA-1 and base64, against FIPS 180 and RFC 4648 test vectors.
@Suite struct SHA1DigestTests {
    private func hex(_ text: String) -> String {
        Array(text.utf8).withUnsafeBytes { SHA1Digest.hash($0) }.map { String($0, radix: 16).leftPadded }.joined()
    }

    @Test("FIPS 180 vectors, one block, two blocks and the padding edge") func fipsVectors() {
        #expect(hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(String(repeating: "a", count: 1000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test("RFC 4648 section 10 base64 vectors") func base64Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { #expect(Handshake.base64(Array(plain.utf8)) == encoded) }
    }

    @Test("a key decodes to its length only when it is canonical padded base64") func keyLengths() {
        #expect(Handshake.decodedLength(ofBase64: "dGhlIHNhbXBsZSBub25jZQ==") == 16)
        #expect(Handshake.decodedLength(ofBase64: "Zm9vYmE=") == 5)
        for bad in ["", "Zm9", "Zm=v", "Zm9v=A==", "Zm9*", "Zm 9v"] { #expect(Handshake.decodedLength(ofBase64: bad) == nil) }
    }

    @Test("the 16-byte key check says what decodedLength == 16 says") func sixteenByteKeys() {
        let valid = "dGhlIHNhbXBsZSBub25jZQ=="
        var keys = [valid, "", "Zm9vYmE=", valid + "AAAA", "dGhlIHNhbXBsZSBub25jZQ=A", "dGhlIHNhbXBsZSBub25jZ===", "dGhlIHNhbXBsZSBub25jZQA="]
        // Every byte value in every position of the valid key.
        for position in 0..<24 {
            for byte in 0...255 {
                var bytes = Array(valid.utf8)
                bytes[position] = UInt8(byte)
                keys.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        for key in keys {
            let bytes = Array(key.utf8)
            let fast = bytes.withUnsafeBytes { Handshake.isSixteenByteKey($0) }
            #expect(fast == (Handshake.decodedLength(ofBase64: key) == 16), "\(bytes)")
        }
    }
}

private extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}
