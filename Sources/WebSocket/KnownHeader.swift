import Glibc

/// Header names looked up on every handshake. The parser notes where each is first sent, so a
/// lookup of one starts there, or knows at once that it was not sent (walking every line for
/// each of a handshake's dozen lookups cost more than parsing the head).
public enum KnownHeader: Int, CaseIterable, Sendable {
    case host, upgrade, connection, secWebSocketKey, secWebSocketVersion, secWebSocketExtensions
    case contentLength, transferEncoding, origin, authorization

    /// Bytes the parser keeps for the notes: one a known header, the first field's index or `absent`.
    static let noteBytes = 16
    static let absent: UInt8 = 0xFF

    /// The known header named `name` (lower-case bytes, as the parser keeps names), if any.
    @inline(__always)
    init?(_ name: UnsafeBufferPointer<UInt8>) {
        // By length, then the bytes against that one name (a getter switching over the names
        // cost more than the compare).
        switch name.count {
        case 4: if KnownHeader.matches(name, "host") { self = .host; return }
        case 6: if KnownHeader.matches(name, "origin") { self = .origin; return }
        case 7: if KnownHeader.matches(name, "upgrade") { self = .upgrade; return }
        case 10: if KnownHeader.matches(name, "connection") { self = .connection; return }
        case 13: if KnownHeader.matches(name, "authorization") { self = .authorization; return }
        case 14: if KnownHeader.matches(name, "content-length") { self = .contentLength; return }
        case 17:
            if KnownHeader.matches(name, "sec-websocket-key") { self = .secWebSocketKey; return }
            if KnownHeader.matches(name, "transfer-encoding") { self = .transferEncoding; return }
        case 21: if KnownHeader.matches(name, "sec-websocket-version") { self = .secWebSocketVersion; return }
        case 24: if KnownHeader.matches(name, "sec-websocket-extensions") { self = .secWebSocketExtensions; return }
        default: break
        }
        return nil
    }

    /// Whether `name` holds `literal`'s bytes (the caller checked the length).
    @inline(__always)
    private static func matches(_ name: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { memcmp(name.baseAddress!, $0.baseAddress!, $0.count) == 0 }
    }
}
