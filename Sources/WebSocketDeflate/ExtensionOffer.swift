/// One extension from a `Sec-WebSocket-Extensions` header: its name and parameters in order
/// (RFC 6455 section 9.1). Quoted values are unescaped.
struct ExtensionOffer: Equatable {
    var name: String
    var parameters: [(name: String, value: String?)]

    static func == (left: ExtensionOffer, right: ExtensionOffer) -> Bool {
        left.name == right.name && left.parameters.elementsEqual(right.parameters) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The well-formed extensions of a header's values, in order; a malformed one is left out
    /// (the scan resumes after the next comma), as it cannot be accepted.
    static func parse(_ headerValues: [String]) -> [ExtensionOffer] {
        var offers: [ExtensionOffer] = []
        for value in headerValues {
            var scanner = HeaderScanner(Array(value.utf8))
            while !scanner.isAtEnd {
                if let offer = scanner.extensionOffer() { offers.append(offer) } else { scanner.skipPastComma() }
            }
        }
        return offers
    }
}

/// A cursor over a header value, by the grammar
/// `extension = token *( OWS ";" OWS token [ "=" ( token / quoted-string ) ] )`, comma-separated.
private struct HeaderScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool {
        mutating get {
            skipSpaceAndCommas()
            return index == bytes.count
        }
    }

    /// The extension at the cursor, consumed up to and including its comma; nil when malformed.
    mutating func extensionOffer() -> ExtensionOffer? {
        guard let name = token() else { return nil }
        var offer = ExtensionOffer(name: name, parameters: [])
        while true {
            skipSpace()
            guard index < bytes.count else { return offer }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                return offer
            case UInt8(ascii: ";"):
                index += 1
                skipSpace()
                guard let parameter = token() else { return nil }
                skipSpace()
                var value: String?
                if index < bytes.count && bytes[index] == UInt8(ascii: "=") {
                    index += 1
                    skipSpace()
                    guard let given = index < bytes.count && bytes[index] == UInt8(ascii: "\"") ? quotedToken() : token() else { return nil }
                    value = given
                }
                offer.parameters.append((parameter, value))
            default:
                return nil
            }
        }
    }

    /// Moves past the next comma that is not inside a quoted string (or to the end).
    mutating func skipPastComma() {
        var quoted = false
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if quoted && byte == UInt8(ascii: "\\") { index += 1; continue }
            if byte == UInt8(ascii: "\"") { quoted.toggle() }
            if byte == UInt8(ascii: ",") && !quoted { return }
        }
    }

    private mutating func token() -> String? {
        let start = index
        while index < bytes.count && HeaderScanner.isTokenCharacter(bytes[index]) { index += 1 }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    /// A quoted string whose unescaped content must itself be a token (RFC 6455 section 9.1).
    private mutating func quotedToken() -> String? {
        index += 1
        var content: [UInt8] = []
        while index < bytes.count {
            var byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") {
                guard !content.isEmpty, content.allSatisfy(HeaderScanner.isTokenCharacter) else { return nil }
                return String(decoding: content, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                guard index < bytes.count else { return nil }
                byte = bytes[index]
                index += 1
            }
            content.append(byte)
        }
        return nil
    }

    private mutating func skipSpace() {
        while index < bytes.count && (bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t")) { index += 1 }
    }

    private mutating func skipSpaceAndCommas() {
        while index < bytes.count && (bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") || bytes[index] == UInt8(ascii: ",")) {
            index += 1
        }
    }

    /// RFC 7230 tchar.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
