import Glibc

/// The routing fields of a message `{"from":"A","to":"B","msg":...}`, found by one scan of the
/// sender's bytes. Ranges index into those bytes; nothing is copied unless a field has escapes.
public struct Envelope {
    public var from: String
    public var to: String
    /// Raw JSON of the optional `id` field, copied into error replies.
    public var idJSON: [UInt8]?
    /// Raw JSON of `msg` and of `data` (used by server commands).
    public var msgRange: Range<Int>
    public var dataRange: Range<Int>?
    /// The optional `ttl` (seconds a message may be kept for an offline recipient). A value that
    /// is not a whole number reads as 0, which is out of every allowed range.
    public var ttl: Int?
    /// Where `from`'s bytes sit in the message as they are (nil when escapes changed them), and
    /// where the `id`'s raw JSON does: a kept message stores these offsets, not copies.
    public var fromAt: Int?
    public var idAt: Int?

    public enum Problem: Error, Equatable {
        /// Not JSON, too deep, not an object, or a routing field missing or of the wrong type.
        case malformed(String)
    }

    /// Scans and validates `bytes` (the whole payload must be valid JSON, nesting at most 64).
    /// A `from` of `sender`'s bytes is `sender` itself: making a String costs more than the scan.
    public static func scan(_ bytes: UnsafeRawBufferPointer, sender: String? = nil) -> Result<Envelope, Problem> {
        do throws(Problem) { return .success(try parse(bytes, sender: sender)) } catch { return .failure(error) }
    }

    /// `scan` for the routing path: thrown, not wrapped in a `Result` (whose copy and destroy went
    /// through the runtime's generic value witnesses: about 160 instructions a message).
    public static func parse(_ bytes: UnsafeRawBufferPointer, sender: String? = nil) throws(Problem) -> Envelope {
        var scanner = JSONScanner(bytes)
        var from: String?
        var to: String?
        var idJSON: [UInt8]?
        var msg: Range<Int>?
        var data: Range<Int>?
        var ttl: Int?
        var fromAt: Int?
        var idAt: Int?
        let isObject: Bool
        do throws(JSONScanner.Failure) {
            isObject = try scanner.scan { (key, keyEscaped, value, kind) throws(JSONScanner.Failure) in
                // Keys are compared as bytes: no String is made for members that do not matter.
                let name = keyEscaped ? Field(JSONString.decode(bytes, key)) : Field(bytes, key)
                switch name {
                case .from:
                    guard from == nil else { throw .invalid("duplicate \"from\"") }
                    guard kind == UInt8(ascii: "\"") else { throw .invalid("\"from\" must be a string") }
                    let raw = value.lowerBound + 1..<value.upperBound - 1
                    if let sender, sameBytes(sender, UnsafeRawBufferPointer(rebasing: bytes[raw])) {
                        from = sender   // ids have no backslash: these bytes are the value as it is
                        fromAt = raw.lowerBound
                    } else {
                        from = JSONString.decode(bytes, raw)
                        if from!.utf8.count == raw.count { fromAt = raw.lowerBound }   // escapes always shorten
                    }
                case .to:
                    guard to == nil else { throw .invalid("duplicate \"to\"") }
                    guard kind == UInt8(ascii: "\"") else { throw .invalid("\"to\" must be a string") }
                    to = JSONString.decode(bytes, value.lowerBound + 1..<value.upperBound - 1)
                case .msg: msg = value
                case .data: data = value
                case .id:
                    idJSON = Array(UnsafeRawBufferPointer(rebasing: bytes[value]))
                    idAt = value.lowerBound
                case .ttl:
                    guard ttl == nil else { throw .invalid("duplicate \"ttl\"") }
                    ttl = Envelope.wholeSeconds(bytes, value)
                case .other: break
                }
            }
        } catch {
            switch error {
            case .tooDeep: throw .malformed("JSON nested deeper than \(JSONScanner.maxDepth)")
            case .invalid(let reason): throw .malformed("not valid JSON: \(reason)")
            }
        }
        guard isObject else { throw .malformed("message must be a JSON object") }
        guard let from else { throw .malformed("missing \"from\"") }
        guard let to else { throw .malformed("missing \"to\"") }
        guard let msg else { throw .malformed("missing \"msg\"") }
        return Envelope(from: from, to: to, idJSON: idJSON, msgRange: msg, dataRange: data, ttl: ttl, fromAt: fromAt, idAt: idAt)
    }

    /// A JSON number of at most 9 digits with no sign, fraction or exponent; 0 for anything else.
    static func wholeSeconds(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int {
        guard range.count <= 9 else { return 0 }
        var value = 0
        for index in range {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return 0 }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// Pulls the `id` of a message that failed to scan, when it is at least valid JSON, so the
    /// error reply can still name it.
    public static func idJSON(of bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var scanner = JSONScanner(bytes)
        var id: [UInt8]?
        _ = try? scanner.scan { (key, escaped, value, _) throws(JSONScanner.Failure) in
            if !escaped && JSONString.plain(bytes, key) == "id" { id = Array(UnsafeRawBufferPointer(rebasing: bytes[value])) }
        }
        return id
    }
}

/// The member names the envelope cares about.
enum Field {
    case from, to, msg, data, id, ttl, other

    init(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        let key = UnsafeRawBufferPointer(rebasing: bytes[range])
        switch key.count {
        case 2: self = Field.matches(key, "to") ? .to : Field.matches(key, "id") ? .id : .other
        case 3: self = Field.matches(key, "msg") ? .msg : Field.matches(key, "ttl") ? .ttl : .other
        case 4: self = Field.matches(key, "from") ? .from : Field.matches(key, "data") ? .data : .other
        default: self = .other
        }
    }

    init(_ name: String) {
        self = Array(name.utf8).withUnsafeBytes { Field($0, 0..<$0.count) }
    }

    private static func matches(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        name.utf8CodeUnitCount == key.count && memcmp(name.utf8Start, key.baseAddress!, key.count) == 0
    }
}

/// Strings inside scanned JSON.
enum JSONString {
    /// `String(decoding:as:)` checks the bytes twice before it makes a String; this way a short
    /// ASCII id (most of them) is checked once, as the small String is formed (invalid UTF-8 is
    /// repaired alike).
    @inline(__always)
    static func make(_ raw: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: raw.count) { buffer in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            return raw.count
        }
    }

    static func plain(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// The string's value with escapes resolved (the scanner has validated them).
    static func decode(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard raw.contains(UInt8(ascii: "\\")) else { return JSONString.make(raw) }
        var out = ""
        // \u escapes gather here first: a surrogate pair is two escapes in a row.
        var units: [UInt16] = []
        func flushUnits() {
            if !units.isEmpty { out += String(decoding: units, as: UTF16.self); units.removeAll() }
        }
        var index = 0
        var plainStart = 0
        while index < raw.count {
            guard raw[index] == UInt8(ascii: "\\") else { index += 1; continue }
            if plainStart < index {
                flushUnits()
                out += String(decoding: UnsafeRawBufferPointer(rebasing: raw[plainStart..<index]), as: UTF8.self)
            }
            let code = raw[index + 1]
            index += 2
            if code == UInt8(ascii: "u") {
                let hex = String(decoding: UnsafeRawBufferPointer(rebasing: raw[index..<index + 4]), as: UTF8.self)
                units.append(UInt16(hex, radix: 16) ?? 0xFFFD)
                index += 4
            } else {
                flushUnits()
                switch code {
                case UInt8(ascii: "b"): out += "\u{08}"
                case UInt8(ascii: "f"): out += "\u{0C}"
                case UInt8(ascii: "n"): out += "\n"
                case UInt8(ascii: "r"): out += "\r"
                case UInt8(ascii: "t"): out += "\t"
                default: out.unicodeScalars.append(Unicode.Scalar(code))
                }
            }
            plainStart = index
        }
        flushUnits()
        if plainStart < raw.count {
            out += String(decoding: UnsafeRawBufferPointer(rebasing: raw[plainStart..<raw.count]), as: UTF8.self)
        }
        return out
    }
}

extension JSONString {
    /// The strings of a validated JSON array, or nil if it is not an array of strings.
    static func stringArray(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> [String]? {
        var index = range.lowerBound
        func skipSpace() { while index < range.upperBound, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        guard bytes[index] == UInt8(ascii: "[") else { return nil }
        index += 1
        var result: [String] = []
        skipSpace()
        if bytes[index] == UInt8(ascii: "]") { return result }
        while true {
            skipSpace()
            guard bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            index = start
            while bytes[index] != UInt8(ascii: "\"") { index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1 }
            result.append(decode(bytes, start..<index))
            index += 1
            skipSpace()
            if bytes[index] == UInt8(ascii: "]") { return result }
            index += 1   // ','
        }
    }
}
