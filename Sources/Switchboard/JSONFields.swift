/// The top-level members of a small JSON object (request bodies, server commands' `data`),
/// validated by the same scanner as routed messages, so cold paths need no second JSON parser.
public struct JSONFields {
    private let bytes: [UInt8]
    private var members: [String: (range: Range<Int>, kind: UInt8)] = [:]

    /// Nil unless `bytes` is one valid JSON object (nesting at most 64).
    public init?(_ bytes: [UInt8]) {
        self.bytes = bytes
        var found: [String: (range: Range<Int>, kind: UInt8)] = [:]
        let isObject: Bool? = bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            return try? scanner.scan { (key, escaped, value, kind) throws(JSONScanner.Failure) in
                let name = escaped ? JSONString.decode(raw, key) : JSONString.plain(raw, key)
                if found[name] == nil { found[name] = (value, kind) }
            }
        }
        guard isObject == true else { return nil }
        members = found
    }

    /// The member's value as a string, or nil when it is missing or not a string.
    public func string(_ name: String) -> String? {
        guard let member = members[name], member.kind == UInt8(ascii: "\"") else { return nil }
        return bytes.withUnsafeBytes { JSONString.decode($0, member.range.lowerBound + 1..<member.range.upperBound - 1) }
    }

    /// The member's value as raw JSON bytes, or nil when it is missing.
    public func raw(_ name: String) -> [UInt8]? {
        guard let member = members[name] else { return nil }
        return Array(bytes[member.range])
    }

    /// The member's value as an array of strings, or nil when it is missing or not one.
    public func strings(_ name: String) -> [String]? {
        guard let member = members[name], member.kind == UInt8(ascii: "[") else { return nil }
        return bytes.withUnsafeBytes { JSONString.stringArray($0, member.range) }
    }

    /// The member's value as a whole number, or nil.
    public func integer(_ name: String) -> Int? {
        guard let raw = raw(name) else { return nil }
        return Int(String(decoding: raw, as: UTF8.self))
    }

    public func has(_ name: String) -> Bool { members[name] != nil }
}
