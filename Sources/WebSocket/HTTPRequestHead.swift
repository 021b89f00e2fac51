import Glibc

/// A parsed HTTP/1.1 request head: request line, headers, and the decoded path and query.
public struct HTTPRequestHead: Sendable {
    public var method: String
    /// The target's path, percent-decoded.
    public var path: String
    public var versionMinor: Int
    /// The target as sent, then the header lines as sent (names lower-cased in place), then the
    /// index of each known header's first field (`KnownHeader.noteBytes`), then a table of 8 bytes
    /// a header (name start, name end, value start, value end): one buffer a head instead of
    /// Strings and arrays (building and freeing them was a sixth of a handshake).
    private let storage: SharedHeadBytes
    private let targetCount: Int32
    private let tableStart: Int32
    private let fieldCount: Int32

    /// Value ends with this bit: the value has non-ASCII bytes and is kept untrimmed (trimmed by
    /// Character when read, as it always was). Offsets are below 8 KiB, so the bit is free.
    static let nonASCIIBit: UInt16 = 0x8000

    init(method: String, path: String, versionMinor: Int, storage: HeadBytes, targetCount: Int, tableStart: Int, fieldCount: Int) {
        self.method = method
        self.path = path
        self.versionMinor = versionMinor
        self.storage = SharedHeadBytes(buffer: storage)
        self.targetCount = Int32(targetCount)
        self.tableStart = Int32(tableStart)
        self.fieldCount = Int32(fieldCount)
    }

    /// The raw request target, as sent.
    public var target: String {
        storage.withBytes { String(decoding: $0[..<Int(targetCount)], as: UTF8.self) }
    }

    /// Query parameters in order, percent-decoded ('+' is a space).
    public var query: [(name: String, value: String)] {
        storage.withBytes { bytes in
            var query: [(name: String, value: String)] = []
            _ = RequestHeadParser.forEachQueryPair(in: bytes[..<Int(targetCount)]) { name, value in
                // The parser checked the encoding: decoding cannot fail here.
                query.append((RequestHeadParser.percentDecode(name, plusIsSpace: true) ?? "",
                              RequestHeadParser.percentDecode(value, plusIsSpace: true) ?? ""))
                return false
            }
            return query
        }
    }

    /// The first query value named `name`, decoded from the target (no list of parameters made).
    public func queryValue(_ name: String) -> String? {
        name.withBytes { wanted in
            let wantedIsASCII = wanted.allSatisfy { $0 < 0x80 }
            return storage.withBytes { bytes -> String? in
                var found: String?
                _ = RequestHeadParser.forEachQueryPair(in: bytes[..<Int(targetCount)]) { rawName, value in
                    // Decoding never lengthens, and nothing shorter equals an ASCII name; one sent
                    // without escapes is its own bytes.
                    if wantedIsASCII && rawName.count < wanted.count { return false }
                    let matches: Bool
                    if wantedIsASCII && !rawName.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
                        matches = rawName.count == wanted.count && memcmp(bytes.baseAddress! + rawName.startIndex, wanted.baseAddress!, wanted.count) == 0
                    } else {
                        matches = RequestHeadParser.percentDecode(rawName, plusIsSpace: true) == name
                    }
                    guard matches else { return false }
                    found = RequestHeadParser.percentDecode(value, plusIsSpace: true) ?? ""
                    return true
                }
                return found
            }
        }
    }

    /// Header lines in order; names are lower-cased by the parser.
    public var headers: [(name: String, value: String)] {
        (0..<Int(fieldCount)).map { index in
            storage.withBytes { bytes in
                let field = Field(bytes, tableStart: Int(tableStart), index: index)
                return (String(decoding: bytes[field.name], as: UTF8.self), field.value(in: bytes))
            }
        }
    }

    /// One header's place in `storage`.
    private struct Field {
        let name: Range<Int>
        let valueStart: Int
        let valueEnd: Int
        let isASCII: Bool

        @inline(__always)
        init(_ bytes: UnsafeRawBufferPointer, tableStart: Int, index: Int) {
            let entry = tableStart + 8 * index
            name = Int(bytes.loadUnaligned(fromByteOffset: entry, as: UInt16.self))..<Int(bytes.loadUnaligned(fromByteOffset: entry + 2, as: UInt16.self))
            valueStart = Int(bytes.loadUnaligned(fromByteOffset: entry + 4, as: UInt16.self))
            let end = bytes.loadUnaligned(fromByteOffset: entry + 6, as: UInt16.self)
            valueEnd = Int(end & ~HTTPRequestHead.nonASCIIBit)
            isASCII = end & HTTPRequestHead.nonASCIIBit == 0
        }

        func valueBytes(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
        }

        func value(in bytes: UnsafeRawBufferPointer) -> String {
            let text = String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self)
            return isASCII ? text : String(text[...].trimmingSpaces())
        }

        @inline(__always)
        func hasName(_ wanted: UnsafeBufferPointer<UInt8>, in bytes: UnsafeRawBufferPointer) -> Bool {
            name.count == wanted.count && memcmp(bytes.baseAddress! + name.lowerBound, wanted.baseAddress!, wanted.count) == 0
        }
    }

    /// Calls `body` for each header named `name` (lower-case ASCII), in order, until it returns true.
    @inline(__always)
    private func forEachField(named name: String, _ body: (Field, UnsafeRawBufferPointer) -> Bool) -> Bool {
        guard fieldCount > 0 else { return false }
        return name.withBytes { wanted in
            if let known = KnownHeader(wanted) { return forEachField(known, body) }
            return storage.withBytes { bytes in
                for index in 0..<Int(fieldCount) {
                    let field = Field(bytes, tableStart: Int(tableStart), index: index)
                    if field.hasName(wanted, in: bytes), body(field, bytes) { return true }
                }
                return false
            }
        }
    }

    /// `forEachField(named:)` for a known header: from its first field, which the parser noted
    /// (nothing to walk when it was not sent).
    @inline(__always)
    private func forEachField(_ known: KnownHeader, _ body: (Field, UnsafeRawBufferPointer) -> Bool) -> Bool {
        storage.withBytes { bytes in
            let noted = bytes[Int(tableStart) - KnownHeader.noteBytes + known.rawValue]
            guard noted != KnownHeader.absent else { return false }
            let first = Field(bytes, tableStart: Int(tableStart), index: Int(noted))
            if body(first, bytes) { return true }
            // The same header sent again further down.
            let name = UnsafeBufferPointer(start: (bytes.baseAddress! + first.name.lowerBound).assumingMemoryBound(to: UInt8.self), count: first.name.count)
            for index in (Int(noted) + 1)..<Int(fieldCount) {
                let field = Field(bytes, tableStart: Int(tableStart), index: index)
                if field.hasName(name, in: bytes), body(field, bytes) { return true }
            }
            return false
        }
    }

    // MARK: Known headers: what `header`, `hasHeader`, `values`, `withASCIIHeader` and `hasToken`
    // answer for the name, without a String for it (the handshake's lookups).

    public func header(_ known: KnownHeader) -> String? {
        var found: String?
        _ = forEachField(known) { field, bytes in
            found = field.value(in: bytes)
            return true
        }
        return found
    }

    public func hasHeader(_ known: KnownHeader) -> Bool {
        forEachField(known) { _, _ in true }
    }

    public func values(of known: KnownHeader) -> [String] {
        var values: [String] = []
        _ = forEachField(known) { field, bytes in
            values.append(field.value(in: bytes))
            return false
        }
        return values
    }

    public func withASCIIHeader<Result>(_ known: KnownHeader, _ body: (UnsafeRawBufferPointer) -> Result?) -> Result? {
        var result: Result?
        _ = forEachField(known) { field, bytes in
            if field.isASCII { result = body(field.valueBytes(in: bytes)) }
            return true
        }
        return result
    }

    /// Whether `token` (lower-case) is one of the header's comma-separated tokens.
    public func hasToken(_ known: KnownHeader, _ token: StaticString) -> Bool {
        token.withUTF8Buffer { expected in   // (a one-character literal has no pointer of its own)
            forEachField(known) { field, bytes in Self.has(expected, field, bytes) }
        }
    }

    /// The name to look up: lower-cased (callers mostly pass lower-case literals, used as they are),
    /// or nil when it is not ASCII (compared as Strings then, as it always was).
    private func lookupName(_ name: String) -> String? {
        let (hasUpper, isASCII) = name.withBytes { bytes in
            var upper = false
            for byte in bytes {
                if byte >= 0x80 { return (upper, false) }
                if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { upper = true }
            }
            return (upper, true)
        }
        guard isASCII else { return nil }
        return hasUpper ? name.lowercased() : name
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        var found: String?
        // As given first: callers pass lower-case names, which is how the parser keeps them (a
        // name that matches as given is already lower-case ASCII, so nothing else could match).
        if forEachField(named: name, { field, bytes in found = field.value(in: bytes); return true }) { return found }
        guard let wanted = lookupName(name) else {
            let all = headers
            let lowered = name.lowercased()
            return (all.first { $0.name == name } ?? all.first { $0.name == lowered })?.value
        }
        guard wanted.utf8.count != name.utf8.count || wanted != name else { return nil }
        _ = forEachField(named: wanted) { field, bytes in
            found = field.value(in: bytes)
            return true
        }
        return found
    }

    /// Whether a header (by lower-case ASCII name) was sent, without making its value a String.
    public func hasHeader(_ name: String) -> Bool {
        forEachField(named: name) { _, _ in true }
    }

    /// The first value of a header (by lower-case ASCII name) as bytes, for `body`; nil when that
    /// header is absent or its value is not ASCII (callers want base64 or tokens).
    public func withASCIIHeader<Result>(_ name: String, _ body: (UnsafeRawBufferPointer) -> Result?) -> Result? {
        var result: Result?
        _ = forEachField(named: name) { field, bytes in
            if field.isASCII { result = body(field.valueBytes(in: bytes)) }
            return true
        }
        return result
    }

    /// Every value of a header (by lower-case ASCII name), in order; only those are made Strings.
    public func values(of name: String) -> [String] {
        var values: [String] = []
        _ = forEachField(named: name) { field, bytes in
            values.append(field.value(in: bytes))
            return false
        }
        return values
    }

    /// Every comma-separated token of every instance of a header, lowercased.
    public func headerTokens(_ name: String) -> [Substring] {
        let wanted = name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? name.lowercased() : name
        return headers.filter { $0.name == wanted }
            .flatMap { $0.value.lowercased().split(separator: ",") }
            .map { $0.trimmingSpaces() }
    }

    /// Whether `token` (lower-case) is one of `headerTokens(name)`, found without copying values.
    public func hasToken(_ name: String, _ token: String) -> Bool {
        token.withBytes { expected in
            // As given first (see `header`): a name that matches so is already lower-case ASCII.
            var matched = false
            let found = forEachField(named: name) { field, bytes in
                matched = true
                return Self.has(expected, field, bytes)
            }
            if matched { return found }
            guard let wanted = lookupName(name) else { return headerTokens(name).contains { $0 == token } }
            guard wanted.utf8.count != name.utf8.count || wanted != name else { return false }
            return forEachField(named: wanted) { field, bytes in Self.has(expected, field, bytes) }
        }
    }

    /// Whether the token whose bytes are `expected` is among `field`'s comma-separated tokens.
    private static func has(_ expected: UnsafeBufferPointer<UInt8>, _ field: Field, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard field.isASCII else {
            // Non-ASCII values are lower-cased and trimmed by the Unicode rules, as in headerTokens.
            let token = String(decoding: expected, as: UTF8.self)
            return field.value(in: bytes).lowercased().split(separator: ",").contains(where: { $0.trimmingSpaces() == token })
        }
        let value = field.valueBytes(in: bytes)
        guard let base = value.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return expected.isEmpty }
        let count = value.count
        // Each comma-separated part (an empty one after a trailing comma too), compared as bytes.
        var start = 0
        while true {
            var end = start
            while end < count && base[end] != UInt8(ascii: ",") { end += 1 }
            if equalsIgnoringSpacesAndCase(base + start, end - start, expected) { return true }
            if end == count { return false }
            start = end + 1
        }
    }

    @inline(__always)
    private static func equalsIgnoringSpacesAndCase(_ bytes: UnsafePointer<UInt8>, _ count: Int, _ expected: UnsafeBufferPointer<UInt8>) -> Bool {
        var start = 0
        var end = count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard expected.count == end - start else { return false }
        guard let wanted = expected.baseAddress else { return true }
        for index in 0..<expected.count where wanted[index] != asciiLowercased(bytes[start + index]) { return false }
        return true
    }

    /// The credential of `Authorization: Bearer ...`, when present.
    public var bearerToken: String? {
        guard let value = header(.authorization), value.count > 7, value.prefix(7).lowercased() == "bearer " else { return nil }
        return String(value.dropFirst(7).trimmingSpaces())
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    public var keepAlive: Bool {
        if versionMinor >= 1 { return !hasToken(.connection, "close") }
        return hasToken(.connection, "keep-alive")
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (optional whitespace around header values).
    public func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}

/// A parsed head's bytes (see HTTPRequestHead); never changed once the parser has filled them.
final class HeadBytes: ManagedBuffer<Int, UInt8> {
    static func make(capacity: Int) -> HeadBytes {
        unsafeDowncast(HeadBytes.create(minimumCapacity: capacity) { _ in 0 }, to: HeadBytes.self)
    }

    @inline(__always)
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeMutablePointers { count, elements in try body(UnsafeRawBufferPointer(start: elements, count: count.pointee)) }
    }
}

/// Sendable: the bytes are never changed once the parser has filled them (ManagedBuffer itself
/// cannot be marked so).
struct SharedHeadBytes: @unchecked Sendable {
    let buffer: HeadBytes

    @inline(__always)
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try buffer.withBytes(body)
    }
}
