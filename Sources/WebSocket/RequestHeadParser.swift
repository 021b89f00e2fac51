import Glibc

/// Incremental HTTP/1.1 request-head parser. Bytes may arrive in any chunking; the head is
/// gathered (at most `maxHeadBytes`) until the blank line, then parsed at once.
public struct RequestHeadParser {
    public static let maxHeadBytes = 8 * 1024
    public static let maxHeaders = 64

    public enum Outcome {
        case needMore
        /// A complete head; `consumed` bytes of the last chunk belonged to it, the rest follow it.
        case head(HTTPRequestHead, consumed: Int)
        /// The request is unacceptable: answer with this status and close.
        case failure(status: Int, reason: String)
    }

    /// The unfinished head (its last bytes also find CRLF CRLF across chunk boundaries).
    private var buffer: [UInt8] = []

    public init() {}

    public var bufferedBytes: Int { buffer.count }
    /// Complete heads this parser has produced (requests on one keep-alive connection).
    public private(set) var headsParsed: UInt32 = 0   // 32 bits: the parser is 12 bytes in a connection's state

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        // The head may take `room` more bytes; the end is looked for only within them.
        let room = RequestHeadParser.maxHeadBytes - buffer.count
        let searched = min(room, bytes.count)
        guard let end = headEnd(in: UnsafeRawBufferPointer(rebasing: bytes[..<searched])) else {
            if bytes.count >= room {
                return .failure(status: 431, reason: "request head larger than \(RequestHeadParser.maxHeadBytes) bytes")
            }
            buffer += bytes
            return .needMore
        }
        headsParsed += 1
        let result: Result<HTTPRequestHead, Failure>
        if buffer.isEmpty {   // the usual case: the whole head came in one read, parsed where it lies
            result = RequestHeadParser.parse(UnsafeRawBufferPointer(rebasing: bytes[...end]))
        } else {
            var head = buffer
            buffer = []
            head += bytes[...end]
            result = head.withUnsafeBytes { RequestHeadParser.parse($0) }
        }
        switch result {
        case .success(let parsed): return .head(parsed, consumed: end + 1)
        case .failure(let failure): return .failure(status: failure.status, reason: failure.reason)
        }
    }

    /// The index of the LF that ends the head (CRLF CRLF, or LF LF) in `bytes`, which follow the
    /// bytes held in `buffer`.
    private func headEnd(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var from = 0
        while from < bytes.count, let found = memchr(base + from, 0x0A, bytes.count - from) {
            let index = base.distance(to: UnsafeRawPointer(found))
            let last = byte(before: index, in: bytes, back: 1)
            if last == 0x0A || (last == 0x0D && byte(before: index, in: bytes, back: 2) == 0x0A && byte(before: index, in: bytes, back: 3) == 0x0D) {
                return index
            }
            from = index + 1
        }
        return nil
    }

    /// The byte `back` places before `index`, reaching into `buffer` before the chunk's start (0
    /// before the head's first byte).
    @inline(__always)
    private func byte(before index: Int, in bytes: UnsafeRawBufferPointer, back: Int) -> UInt8 {
        let position = index - back
        if position >= 0 { return bytes[position] }
        let held = buffer.count + position
        return held >= 0 ? buffer[held] : 0
    }

    struct Failure: Error {
        let status: Int
        let reason: String
        static func bad(_ reason: String) -> Failure { Failure(status: 400, reason: reason) }
    }

    static func parse(_ head: [UInt8]) -> Result<HTTPRequestHead, Failure> {
        head.withUnsafeBytes { parse($0) }
    }

    static func parse(_ head: UnsafeRawBufferPointer) -> Result<HTTPRequestHead, Failure> {
        var lines = Lines(head)
        // Blank lines at the end are the terminator.
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let requestLine = lines.next(), !requestLine.isEmpty else { return .failure(.bad("empty request line")) }
        guard let firstSpace = find(0x20, in: requestLine),
              let secondSpace = find(0x20, in: requestLine[(firstSpace + 1)...]),
              find(0x20, in: requestLine[(secondSpace + 1)...]) == nil else {
            return .failure(.bad("malformed request line"))
        }
        let method = requestLine[..<firstSpace]
        let targetBytes = requestLine[(firstSpace + 1)..<secondSpace]
        let versionBytes = requestLine[(secondSpace + 1)...]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { return .failure(.bad("malformed request line")) }
        guard let minor = versionMinor(versionBytes) else {
            let isHTTP = String(decoding: versionBytes, as: UTF8.self).hasPrefix("HTTP/")
            return .failure(isHTTP ? Failure(status: 505, reason: "only HTTP/1.x is served") : .bad("malformed HTTP version"))
        }
        guard targetBytes.first == UInt8(ascii: "/"), targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.bad("request target must be an absolute path"))
        }
        let target = String(decoding: targetBytes, as: UTF8.self)
        // The target is printable ASCII (checked above): split and decoded as bytes.
        let question = targetBytes.firstIndex(of: UInt8(ascii: "?"))
        guard let path = percentDecode(targetBytes[..<(question ?? targetBytes.endIndex)], plusIsSpace: false) else {
            return .failure(.bad("bad percent-encoding in path"))
        }
        var query: [(name: String, value: String)] = []
        if let question {
            // Split at '&' in place (empty pairs skipped, as split does), without an array of slices.
            var start = question + 1
            while start < targetBytes.endIndex {
                let end = find(UInt8(ascii: "&"), in: targetBytes[start...]) ?? targetBytes.endIndex
                let pair = targetBytes[start..<end]
                start = end + 1
                if pair.isEmpty { continue }
                let equals = find(UInt8(ascii: "="), in: pair)
                guard let name = percentDecode(pair[..<(equals ?? pair.endIndex)], plusIsSpace: true),
                      let value = percentDecode(equals.map { pair[($0 + 1)...] } ?? pair[pair.endIndex...], plusIsSpace: true) else {
                    return .failure(.bad("bad percent-encoding in query"))
                }
                query.append((name, value))
            }
        }
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(8)
        while let line = lines.next() {
            guard let first = line.first else { return .failure(.bad("empty header line")) }
            if first == 0x20 || first == 0x09 { return .failure(.bad("obsolete line folding is not accepted")) }
            guard let colon = find(0x3A, in: line) else { return .failure(.bad("header without a colon")) }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, UnsafeRawBufferPointer(rebasing: name).allSatisfy(isTokenByte) else {
                return .failure(.bad("malformed header name"))
            }
            let value = line[(colon + 1)...]
            // Checked as a plain buffer: a slice's iteration checks every index.
            guard UnsafeRawBufferPointer(rebasing: value).allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                return .failure(.bad("control character in header value"))
            }
            // Names are case-insensitive: kept lower-cased once here, so lookups need no copies.
            headers.append((knownName(name) ?? lowercasedString(name), trimmedString(value)))
            if headers.count > maxHeaders {
                return .failure(Failure(status: 431, reason: "more than \(maxHeaders) headers"))
            }
        }
        return .success(HTTPRequestHead(method: String(decoding: method, as: UTF8.self), target: target,
                                        path: path, query: query, versionMinor: minor, headers: headers))
    }

    /// The index of the first `byte` in `bytes` (memchr: heads are scanned a line at a time).
    @inline(__always)
    static func find(_ byte: UInt8, in bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard let base = bytes.base.baseAddress, !bytes.isEmpty,
              let found = memchr(base + bytes.startIndex, Int32(byte), bytes.count) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// The minor version of "HTTP/1.x" (x one digit), or nil.
    private static func versionMinor(_ bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else {   // rare: the Character rules decide, as they always did
            let version = String(decoding: bytes, as: UTF8.self)
            guard version.hasPrefix("HTTP/1."), version.count == 8 else { return nil }
            return version.last?.wholeNumberValue
        }
        guard bytes.count == 8 else { return nil }
        // "HTTP/1." and a digit, as one 8-byte load (a generic starts(with:) cost 380 instructions).
        let word = UInt64(littleEndian: UnsafeRawBufferPointer(rebasing: bytes).loadUnaligned(as: UInt64.self))
        let prefix: UInt64 = 0x2E31_2F50_5454_48   // "HTTP/1." little-endian
        let last = UInt8(truncatingIfNeeded: word >> 56)
        guard word & 0x00FF_FFFF_FFFF_FFFF == prefix, last >= UInt8(ascii: "0"), last <= UInt8(ascii: "9") else { return nil }
        return Int(last - UInt8(ascii: "0"))
    }

    /// The lower-case literal for a name every handshake sends: no string to build, and lookups
    /// with the same literal compare equal at once.
    private static func knownName(_ name: Slice<UnsafeRawBufferPointer>) -> String? {
        let bytes = UnsafeRawBufferPointer(rebasing: name)
        switch bytes.count {
        case 4: return matches(bytes, "host") ? "host" : nil
        case 6: return matches(bytes, "origin") ? "origin" : nil
        case 7: return matches(bytes, "upgrade") ? "upgrade" : nil
        case 10:
            if matches(bytes, "connection") { return "connection" }
            return matches(bytes, "user-agent") ? "user-agent" : nil
        case 17: return matches(bytes, "sec-websocket-key") ? "sec-websocket-key" : nil
        case 21: return matches(bytes, "sec-websocket-version") ? "sec-websocket-version" : nil
        case 24: return matches(bytes, "sec-websocket-extensions") ? "sec-websocket-extensions" : nil
        default: return nil
        }
    }

    /// Whether `bytes`, lower-cased, are `name` (of the same length).
    @inline(__always)
    private static func matches(_ bytes: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        let expected = name.utf8Start
        for index in 0..<bytes.count where asciiLowercased(bytes[index]) != expected[index] { return false }
        return true
    }

    /// A header name, lower-cased (names are token bytes: ASCII).
    private static func lowercasedString(_ name: Slice<UnsafeRawBufferPointer>) -> String {
        let bytes = UnsafeRawBufferPointer(rebasing: name)
        return String(unsafeUninitializedCapacity: bytes.count) { output in
            for index in 0..<bytes.count { output[index] = asciiLowercased(bytes[index]) }
            return bytes.count
        }
    }

    /// A header value without the spaces and tabs around it.
    private static func trimmedString(_ value: Slice<UnsafeRawBufferPointer>) -> String {
        let bytes = UnsafeRawBufferPointer(rebasing: value)
        guard bytes.allSatisfy({ $0 < 0x80 }) else {   // rare: trimmed by Character, as it always was
            return String(String(decoding: value, as: UTF8.self)[...].trimmingSpaces())
        }
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard let base = bytes.baseAddress, start < end else { return "" }
        let trimmed = UnsafeRawBufferPointer(start: base + start, count: end - start)
        if let known = knownValue(trimmed) { return known }
        return String(decoding: UnsafeBufferPointer(start: (base + start).assumingMemoryBound(to: UInt8.self), count: end - start), as: UTF8.self)
    }

    /// The literal for a value every handshake sends, spelled exactly so (values keep their case).
    private static func knownValue(_ bytes: UnsafeRawBufferPointer) -> String? {
        switch bytes.count {
        case 2: return same(bytes, "13") ? "13" : nil
        case 7: return same(bytes, "Upgrade") ? "Upgrade" : nil
        case 9: return same(bytes, "websocket") ? "websocket" : nil
        default: return nil
        }
    }

    @inline(__always)
    private static func same(_ bytes: UnsafeRawBufferPointer, _ value: StaticString) -> Bool {
        memcmp(bytes.baseAddress!, value.utf8Start, bytes.count) == 0
    }

    /// The head's lines (split at LF, a CR before it dropped), front to back.
    private struct Lines {
        let bytes: UnsafeRawBufferPointer
        var start = 0
        var end: Int

        init(_ bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
            end = bytes.count
        }

        /// The last line (after the last LF; every line when there is none).
        var last: Slice<UnsafeRawBufferPointer>? {
            guard start <= end else { return nil }
            let lineStart = (bytes[start..<end].lastIndex(of: 0x0A).map { $0 + 1 }) ?? start
            return withoutCR(bytes[lineStart..<end])
        }

        mutating func removeLast() {
            if let newline = bytes[start..<end].lastIndex(of: 0x0A) { end = newline } else { start = end + 1 }
        }

        mutating func next() -> Slice<UnsafeRawBufferPointer>? {
            guard start <= end else { return nil }
            let lineEnd = find(0x0A, in: bytes[start..<end]) ?? end
            defer { start = lineEnd + 1 }
            return withoutCR(bytes[start..<lineEnd])
        }

        private func withoutCR(_ line: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
            line.last == 0x0D ? line.dropLast() : line
        }
    }

    /// tchar from RFC 9110 section 5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            switch byte {
            case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                 UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
                 UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
            default: return false
            }
        }
    }

    static func percentDecode(_ text: Slice<UnsafeRawBufferPointer>, plusIsSpace: Bool) -> String? {
        var invalid = false
        let decoded = String(unsafeUninitializedCapacity: text.count) { output in
            var count = 0
            var index = text.startIndex
            while index < text.endIndex {
                let byte = text[index]
                index += 1
                if byte == UInt8(ascii: "%") {
                    guard index + 1 < text.endIndex, let high = hexValue(text[index]), let low = hexValue(text[index + 1]) else {
                        invalid = true
                        return 0
                    }
                    output[count] = high << 4 | low
                    index += 2
                } else {
                    output[count] = plusIsSpace && byte == UInt8(ascii: "+") ? 0x20 : byte
                }
                count += 1
            }
            return count
        }
        return invalid ? nil : decoded
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}
