/// A validating JSON scanner (RFC 8259) that also notes where the top-level object's members
/// are. Hand-written because it runs on every routed message and must neither allocate nor
/// build a document: the message is forwarded as the sender's bytes.
struct JSONScanner {
    static let maxDepth = 64

    enum Failure: Error, Equatable {
        case invalid(String)
        case tooDeep
    }

    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
        end = bytes.count
    }

    /// Validates the whole text; for a top-level object calls `member(keyRange, keyHasEscapes, valueRange, valueKind)`
    /// for each member. Returns whether the top level is an object.
    @inline(__always)   // the envelope's member closure is inlined with it: its fields are the hot path
    mutating func scan(member: (Range<Int>, Bool, Range<Int>, UInt8) throws(Failure) -> Void) throws(Failure) -> Bool {
        skipSpace()
        guard index < end else { throw .invalid("empty message") }
        let isObject = base[index] == UInt8(ascii: "{")
        if isObject {
            try object(depth: 1, member: member)
        } else {
            try value(depth: 1)
        }
        skipSpace()
        guard index == end else { throw .invalid("text after the JSON value") }
        return isObject
    }

    // MARK: Grammar

    private mutating func value(depth: Int) throws(Failure) {
        guard index < end else { throw .invalid("unexpected end") }
        switch base[index] {
        case UInt8(ascii: "{"): try object(depth: depth) { (_, _, _, _) throws(Failure) in }
        case UInt8(ascii: "["): try array(depth: depth)
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
    }

    @inline(__always)
    private mutating func object(depth: Int, member: (Range<Int>, Bool, Range<Int>, UInt8) throws(Failure) -> Void) throws(Failure) {
        guard depth <= JSONScanner.maxDepth else { throw .tooDeep }
        index += 1
        skipSpace()
        if index < end && base[index] == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipSpace()
            guard index < end, base[index] == UInt8(ascii: "\"") else { throw .invalid("object key must be a string") }
            let keyStart = index + 1
            let keyEscaped = try string()
            let keyRange = keyStart..<(index - 1)
            skipSpace()
            guard index < end, base[index] == UInt8(ascii: ":") else { throw .invalid("expected ':' after key") }
            index += 1
            skipSpace()
            let valueStart = index
            guard index < end else { throw .invalid("unexpected end") }
            let kind = base[index]
            // String members (the envelope's ids and most payloads) skip the value switch.
            if kind == UInt8(ascii: "\"") { _ = try string() } else { try value(depth: depth + 1) }
            try member(keyRange, keyEscaped, valueStart..<index, kind)
            skipSpace()
            guard index < end else { throw .invalid("unterminated object") }
            if base[index] == UInt8(ascii: ",") { index += 1; continue }
            guard base[index] == UInt8(ascii: "}") else { throw .invalid("expected ',' or '}'") }
            index += 1
            return
        }
    }

    private mutating func array(depth: Int) throws(Failure) {
        guard depth <= JSONScanner.maxDepth else { throw .tooDeep }
        index += 1
        skipSpace()
        if index < end && base[index] == UInt8(ascii: "]") { index += 1; return }
        while true {
            skipSpace()
            try value(depth: depth + 1)
            skipSpace()
            guard index < end else { throw .invalid("unterminated array") }
            if base[index] == UInt8(ascii: ",") { index += 1; continue }
            guard base[index] == UInt8(ascii: "]") else { throw .invalid("expected ',' or ']'") }
            index += 1
            return
        }
    }

    /// Scans a string starting at its opening quote; returns whether it has escapes.
    /// UTF-8 validity was checked by the WebSocket layer (text frames).
    private mutating func string() throws(Failure) -> Bool {
        index += 1
        var escaped = false
        while index < end {
            skipPlainBytes()
            guard index < end else { break }
            let byte = base[index]
            if byte == UInt8(ascii: "\"") { index += 1; return escaped }
            if byte < 0x20 { throw .invalid("control character in string") }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < end else { break }
                switch base[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    guard index + 4 < end else { throw .invalid("short \\u escape") }
                    for offset in 1...4 where !isHexDigit(base[index + offset]) { throw .invalid("bad \\u escape") }
                    index += 5
                default:
                    throw .invalid("bad escape")
                }
                continue
            }
            index += 1
        }
        throw .invalid("unterminated string")
    }

    /// Moves past string bytes that need no look (not '"', '\\' or a control character), eight at
    /// a time: ids and payload text are mostly such runs.
    @inline(__always)
    private mutating func skipPlainBytes() {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= end {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            // Bytes that are zero (after the xor) or below 0x20 set their high bit; the lowest such
            // byte is exact (borrows only mark bytes above a true one).
            let special = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word) & highs
            if special != 0 {
                index += special.trailingZeroBitCount >> 3   // little-endian: the first byte is the lowest
                return
            }
            index += 8
        }
    }

    private mutating func number() throws(Failure) {
        if index < end && base[index] == UInt8(ascii: "-") { index += 1 }
        guard index < end, isDigit(base[index]) else { throw .invalid("unexpected character") }
        if base[index] == UInt8(ascii: "0") { index += 1 } else { while index < end && isDigit(base[index]) { index += 1 } }
        if index < end && base[index] == UInt8(ascii: ".") {
            index += 1
            guard index < end, isDigit(base[index]) else { throw .invalid("bad number") }
            while index < end && isDigit(base[index]) { index += 1 }
        }
        if index < end && (base[index] == UInt8(ascii: "e") || base[index] == UInt8(ascii: "E")) {
            index += 1
            if index < end && (base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-")) { index += 1 }
            guard index < end, isDigit(base[index]) else { throw .invalid("bad number") }
            while index < end && isDigit(base[index]) { index += 1 }
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= end else { throw .invalid("unexpected end") }
        for offset in 0..<count where base[index + offset] != word.utf8Start[offset] { throw .invalid("bad literal") }
        index += count
    }

    private mutating func skipSpace() {
        // Compact JSON (what apps send) has none: one compare with the space answers.
        while index < end && base[index] <= 0x20 {
            switch base[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }
}
