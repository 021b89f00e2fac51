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
        // The target is printable ASCII (checked above): split and decoded as bytes.
        let question = targetBytes.firstIndex(of: UInt8(ascii: "?"))
        let pathBytes = targetBytes[..<(question ?? targetBytes.endIndex)]
        guard let path = pathBytes.count == 1 ? "/" : percentDecode(pathBytes, plusIsSpace: false) else {
            return .failure(.bad("bad percent-encoding in path"))
        }
        // The query is decoded when asked for (HTTPRequestHead.queryValue); checked here.
        let queryIsValid = !forEachQueryPair(in: targetBytes) { name, value in
            !isPercentEncoded(name) || !isPercentEncoded(value)
        }
        guard queryIsValid else { return .failure(.bad("bad percent-encoding in query")) }
        // The target, then the header lines, copied as they are into one buffer, names lower-cased
        // there, then where each known header is first sent, and a table of offsets (see
        // HTTPRequestHead).
        let linesStart = lines.start
        let rawCount = lines.end - linesStart   // -1 when there are no header lines
        let textCount = max(0, rawCount)
        var fieldCount = 0
        let targetCount = targetBytes.count
        let textStart = targetCount
        let notesStart = targetCount + textCount
        let tableStart = notesStart + KnownHeader.noteBytes
        let storage = HeadBytes.make(capacity: tableStart + 8 * (maxHeaders + 1))
        do {
            try storage.withUnsafeMutablePointers { count, elements in
                UnsafeMutableRawPointer(elements).copyMemory(from: head.baseAddress! + targetBytes.startIndex, byteCount: targetCount)
                let out = elements + textStart
                if textCount > 0 { UnsafeMutableRawPointer(out).copyMemory(from: head.baseAddress! + linesStart, byteCount: textCount) }
                let notes = elements + notesStart
                notes.initialize(repeating: KnownHeader.absent, count: KnownHeader.noteBytes)
                count.pointee = tableStart
                // Line by line over the copy (split at LF, a CR before it dropped), as `Lines` does.
                var start = 0
                while start <= rawCount {
                    let lineEnd = memchr(out + start, 0x0A, rawCount - start).map { out.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? rawCount
                    var end = lineEnd
                    if end > start, out[end - 1] == 0x0D { end -= 1 }
                    defer { start = lineEnd + 1 }
                    guard end > start else { throw Failure.bad("empty header line") }
                    if out[start] == 0x20 || out[start] == 0x09 { throw Failure.bad("obsolete line folding is not accepted") }
                    guard let found = memchr(out + start, 0x3A, end - start) else { throw Failure.bad("header without a colon") }
                    let colon = out.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    // Names are case-insensitive: lower-cased once here, so lookups compare bytes.
                    guard colon > start, lowercaseToken(out + start, count: colon - start) else { throw Failure.bad("malformed header name") }
                    let isASCII = try checkValue(out + colon + 1, count: end - colon - 1)
                    if fieldCount == maxHeaders { throw Failure(status: 431, reason: "more than \(maxHeaders) headers") }
                    if let known = KnownHeader(UnsafeBufferPointer(start: out + start, count: colon - start)),
                       notes[known.rawValue] == KnownHeader.absent {
                        notes[known.rawValue] = UInt8(fieldCount)
                    }
                    var valueStart = colon + 1
                    var valueEnd = end
                    if isASCII {   // a value that is not ASCII is trimmed by Character when read
                        while valueStart < valueEnd, out[valueStart] == 0x20 || out[valueStart] == 0x09 { valueStart += 1 }
                        while valueEnd > valueStart, out[valueEnd - 1] == 0x20 || out[valueEnd - 1] == 0x09 { valueEnd -= 1 }
                    }
                    let entry = UnsafeMutableRawPointer(elements + tableStart + 8 * fieldCount)
                    entry.storeBytes(of: UInt16(textStart + start), as: UInt16.self)
                    entry.storeBytes(of: UInt16(textStart + colon), toByteOffset: 2, as: UInt16.self)
                    entry.storeBytes(of: UInt16(textStart + valueStart), toByteOffset: 4, as: UInt16.self)
                    entry.storeBytes(of: UInt16(textStart + valueEnd) | (isASCII ? 0 : HTTPRequestHead.nonASCIIBit), toByteOffset: 6, as: UInt16.self)
                    fieldCount += 1
                    count.pointee = tableStart + 8 * fieldCount
                }
            }
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(.bad("malformed header"))
        }
        return .success(HTTPRequestHead(method: methodString(method), path: path, versionMinor: minor,
                                        storage: storage, targetCount: targetCount, tableStart: tableStart, fieldCount: fieldCount))
    }

    /// The method as a String: GET, which every handshake sends, is the literal (decoding it
    /// cost about 140 instructions); the path "/" likewise above (a target starts with '/').
    private static func methodString(_ method: Slice<UnsafeRawBufferPointer>) -> String {
        if method.count == 3 && method[method.startIndex] == UInt8(ascii: "G") && method[method.startIndex + 1] == UInt8(ascii: "E")
            && method[method.startIndex + 2] == UInt8(ascii: "T") {
            return "GET"
        }
        return String(decoding: method, as: UTF8.self)
    }

    /// Lower-cases a header name in place; false when a byte is not a tchar.
    @inline(__always)
    private static func lowercaseToken(_ name: UnsafeMutablePointer<UInt8>, count: Int) -> Bool {
        let table = lowerTokenBytes   // one look-up a byte (a range test and a switch cost three times that)
        for index in 0..<count {
            let lowered = table[Int(name[index])]
            guard lowered != 0 else { return false }
            name[index] = lowered
        }
        return true
    }

    /// For each byte: its lower case when it is a tchar, else 0. Made once, never freed.
    nonisolated(unsafe) private static let lowerTokenBytes: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for byte in 0..<256 { table[byte] = isTokenByte(UInt8(byte)) ? asciiLowercased(UInt8(byte)) : 0 }
        return UnsafePointer(table)
    }()

    /// Checks a header value (tabs and visible bytes, no other controls); true when it is ASCII.
    @inline(__always)
    private static func checkValue(_ value: UnsafeMutablePointer<UInt8>, count: Int) throws(Failure) -> Bool {
        // Eight bytes at a time while none is a control, DEL or above ASCII (the usual value).
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= count {
            let word = UnsafeRawPointer(value + index).loadUnaligned(as: UInt64.self)
            let below32 = (word &- ones &* 0x20) & ~word & highs
            let del = word ^ (ones &* 0x7F)
            let isDEL = (del &- ones) & ~del & highs
            if (word & highs) | below32 | isDEL != 0 { break }
            index += 8
        }
        var isASCII = true
        while index < count {
            let byte = value[index]
            guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else { throw Failure.bad("control character in header value") }
            if byte >= 0x80 { isASCII = false }
            index += 1
        }
        return isASCII
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

    /// The head's lines (split at LF, a CR before it dropped), front to back.
    private struct Lines {
        let bytes: UnsafeRawBufferPointer
        private(set) var start = 0
        private(set) var end: Int

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

    /// Calls `body` with each `name=value` pair of the target's query (split at '&', empty pairs
    /// skipped as split does; no '=' is an empty value) until it returns true; whether one did.
    static func forEachQueryPair(in target: Slice<UnsafeRawBufferPointer>,
                                 _ body: (Slice<UnsafeRawBufferPointer>, Slice<UnsafeRawBufferPointer>) -> Bool) -> Bool {
        guard let question = find(UInt8(ascii: "?"), in: target) else { return false }
        var start = question + 1
        while start < target.endIndex {
            let end = find(UInt8(ascii: "&"), in: target[start...]) ?? target.endIndex
            let pair = target[start..<end]
            start = end + 1
            if pair.isEmpty { continue }
            let equals = find(UInt8(ascii: "="), in: pair)
            if body(pair[..<(equals ?? pair.endIndex)], equals.map { pair[($0 + 1)...] } ?? pair[pair.endIndex...]) { return true }
        }
        return false
    }

    /// Whether `percentDecode` accepts `text`: every '%' starts two hex digits.
    static func isPercentEncoded(_ text: Slice<UnsafeRawBufferPointer>) -> Bool {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == UInt8(ascii: "%") {
                guard index + 2 < text.endIndex, hexValue(text[index + 1]) != nil, hexValue(text[index + 2]) != nil else { return false }
                index += 3
            } else {
                index += 1
            }
        }
        return true
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
