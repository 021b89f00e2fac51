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

    private var buffer: [UInt8] = []
    /// The last bytes seen, to find CRLF CRLF (or LF LF) across chunk boundaries.
    private var tail: UInt32 = 0

    public init() {}

    public var bufferedBytes: Int { buffer.count }
    /// Complete heads this parser has produced (requests on one keep-alive connection).
    public private(set) var headsParsed: UInt32 = 0   // 32 bits: packs beside `tail` in a connection's state

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        for (index, byte) in bytes.enumerated() {
            buffer.append(byte)
            tail = tail << 8 | UInt32(byte)
            let ended = tail == 0x0D0A_0D0A || tail & 0xFFFF == 0x0A0A
            if ended {
                let head = buffer
                buffer = []
                tail = 0
                headsParsed += 1
                switch RequestHeadParser.parse(head) {
                case .success(let parsed): return .head(parsed, consumed: index + 1)
                case .failure(let failure): return .failure(status: failure.status, reason: failure.reason)
                }
            }
            if buffer.count >= RequestHeadParser.maxHeadBytes {
                return .failure(status: 431, reason: "request head larger than \(RequestHeadParser.maxHeadBytes) bytes")
            }
        }
        return .needMore
    }

    struct Failure: Error {
        let status: Int
        let reason: String
        static func bad(_ reason: String) -> Failure { Failure(status: 400, reason: reason) }
    }

    static func parse(_ head: [UInt8]) -> Result<HTTPRequestHead, Failure> {
        var lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first, !requestLine.isEmpty else { return .failure(.bad("empty request line")) }
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte) else {
            return .failure(.bad("malformed request line"))
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version.hasPrefix("HTTP/1."), version.count == 8, let minor = version.last?.wholeNumberValue else {
            return .failure(version.hasPrefix("HTTP/") ? Failure(status: 505, reason: "only HTTP/1.x is served") : .bad("malformed HTTP version"))
        }
        let target = String(decoding: parts[1], as: UTF8.self)
        guard target.hasPrefix("/"), parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.bad("request target must be an absolute path"))
        }
        let pathPart = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let path = percentDecode(pathPart[0], plusIsSpace: false) else {
            return .failure(.bad("bad percent-encoding in path"))
        }
        var query: [(name: String, value: String)] = []
        if pathPart.count == 2 {
            for pair in pathPart[1].split(separator: "&") {
                let nameValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = percentDecode(nameValue[0], plusIsSpace: true),
                      let value = percentDecode(nameValue.count == 2 ? nameValue[1] : "", plusIsSpace: true) else {
                    return .failure(.bad("bad percent-encoding in query"))
                }
                query.append((name, value))
            }
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let first = line.first else { return .failure(.bad("empty header line")) }
            if first == 0x20 || first == 0x09 { return .failure(.bad("obsolete line folding is not accepted")) }
            guard let colon = line.firstIndex(of: 0x3A) else { return .failure(.bad("header without a colon")) }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return .failure(.bad("malformed header name")) }
            let value = line[line.index(after: colon)...]
            guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                return .failure(.bad("control character in header value"))
            }
            // Names are case-insensitive: kept lower-cased once here, so lookups need no copies.
            headers.append((String(decoding: name.lazy.map(asciiLowercased), as: UTF8.self),
                            String(String(decoding: value, as: UTF8.self)[...].trimmingSpaces())))
            if headers.count > maxHeaders {
                return .failure(Failure(status: 431, reason: "more than \(maxHeaders) headers"))
            }
        }
        return .success(HTTPRequestHead(method: String(decoding: parts[0], as: UTF8.self), target: target,
                                        path: path, query: query, versionMinor: minor, headers: headers))
    }

    /// tchar from RFC 9110 section 5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
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
