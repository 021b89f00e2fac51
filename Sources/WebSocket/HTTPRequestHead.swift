/// A parsed HTTP/1.1 request head: request line, headers, and the decoded path and query.
public struct HTTPRequestHead: Sendable {
    public var method: String
    /// The raw request target, as sent.
    public var target: String
    /// The target's path, percent-decoded.
    public var path: String
    /// Query parameters in order, percent-decoded ('+' is a space).
    public var query: [(name: String, value: String)]
    public var versionMinor: Int
    /// Header lines in order; names are lower-cased by the parser.
    public var headers: [(name: String, value: String)]

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        // As given first: callers pass lower-case names, which is how the parser keeps them (a
        // name with an upper-case letter matches nothing as given, and is lower-cased below).
        for header in headers where sameName(header.name, name) { return header.value }
        let wanted = lowercasedName(name)
        guard !sameName(wanted, name) else { return nil }
        return headers.first { sameName($0.name, wanted) }?.value
    }

    /// Lengths first: most names differ in length, and a length is stored (no compare call).
    @inline(__always)
    private func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a == b
    }

    /// Every comma-separated token of every instance of a header, lowercased.
    public func headerTokens(_ name: String) -> [Substring] {
        let wanted = lowercasedName(name)
        return headers.filter { $0.name == wanted }
            .flatMap { $0.value.lowercased().split(separator: ",") }
            .map { $0.trimmingSpaces() }
    }

    /// Whether `token` (lower-case) is one of `headerTokens(name)`, found without copying values.
    public func hasToken(_ name: String, _ token: String) -> Bool {
        let wanted = lowercasedName(name)
        for header in headers where sameName(header.name, wanted) {
            let found = header.value.withBytes { bytes -> Bool? in
                guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
                var start = 0
                while start <= bytes.count {
                    let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.count
                    if Self.equalsIgnoringSpacesAndCase(UnsafeBufferPointer(rebasing: bytes[start..<end]), token) { return true }
                    start = end + 1
                }
                return false
            }
            // Non-ASCII values are lower-cased and trimmed by the Unicode rules, as in headerTokens.
            if found ?? header.value.lowercased().split(separator: ",").contains(where: { $0.trimmingSpaces() == token }) { return true }
        }
        return false
    }

    private static func equalsIgnoringSpacesAndCase(_ bytes: UnsafeBufferPointer<UInt8>, _ token: String) -> Bool {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard token.utf8.count == end - start else { return false }
        // Byte by byte over the token's buffer (a generic elementsEqual over a lazy map cost more
        // than the rest of the lookup).
        return token.withBytes { expected in
            for index in 0..<expected.count where expected[index] != asciiLowercased(bytes[start + index]) { return false }
            return true
        }
    }

    /// Callers mostly pass lower-case literals: those are used as they are, without a copy.
    private func lowercasedName(_ name: String) -> String {
        let hasUpper = name.withBytes { bytes in
            for byte in bytes where byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { return true }
            return false
        }
        return hasUpper ? name.lowercased() : name
    }

    /// The credential of `Authorization: Bearer ...`, when present.
    public var bearerToken: String? {
        guard let value = header("authorization"), value.count > 7, value.prefix(7).lowercased() == "bearer " else { return nil }
        return String(value.dropFirst(7).trimmingSpaces())
    }

    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    public var keepAlive: Bool {
        if versionMinor >= 1 { return !hasToken("connection", "close") }
        return hasToken("connection", "keep-alive")
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
