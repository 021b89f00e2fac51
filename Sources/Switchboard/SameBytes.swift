import Glibc
import StringBytes

/// Whether two strings hold the same bytes. Device ids are bytes: String's == would call
/// canonically equivalent spellings (a Kelvin sign for "K") equal. Native strings are compared
/// with one memcmp; the generic byte walk is the fallback (it costs ~100x more per id).
@inline(__always)
public func sameBytes(_ a: String, _ b: String) -> Bool {
    // Equal representations hold equal bytes (an id of up to 15 bytes is stored inline, so equal
    // ids usually compare here without touching memory); different ones are compared as bytes.
    if unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self) { return true }
    return a.withBytes { left in
        b.withBytes { right in
            left.count == right.count && (left.isEmpty || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
        }
    }
}

/// `sameBytes` for a stored id that may be absent.
@inline(__always)
func sameBytes(_ stored: String?, _ id: String) -> Bool {
    guard let stored else { return false }
    return sameBytes(stored, id)
}

/// Whether `string` holds exactly `bytes`.
@inline(__always)
func sameBytes(_ string: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
    string.withBytes { utf8 in
        utf8.count == bytes.count && (bytes.isEmpty || memcmp(utf8.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
    }
}
