/// Tells from a connection's first bytes what the client meant to speak, before any parsing.
public enum FirstBytes {
    /// A TLS handshake record (a ClientHello): content type 0x16, then protocol major version 3.
    /// A plain port seeing this should close (and count it) rather than parse it as HTTP.
    public static func lookLikeTLSClientHello(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let first = bytes.first, first == 0x16 else { return false }
        return bytes.count < 2 || bytes[1] == 0x03
    }

    /// An HTTP request line: it starts with a method, upper-case ASCII ("GET ", "POST ", ...).
    /// No TLS record can: their first byte is a content type from 20 to 24, or 0x80+ for SSLv2.
    public static func lookLikePlainHTTP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let first = bytes.first else { return false }
        return first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z")
    }
}
