/// Writes one flat JSON object with fields in insertion order; enough for JWT parts.
struct JSONWriter {
    private var text = "{"

    mutating func add(_ key: String, _ value: String) {
        field(key)
        Self.appendQuoted(value, to: &text)
    }

    mutating func add(_ key: String, _ value: Int64) {
        field(key)
        text += String(value)
    }

    mutating func add(_ key: String, _ values: [String]) {
        field(key)
        text += "["
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            Self.appendQuoted(value, to: &text)
        }
        text += "]"
    }

    func finished() -> String { text + "}" }

    private mutating func field(_ key: String) {
        if text != "{" { text += "," }
        Self.appendQuoted(key, to: &text)
        text += ":"
    }

    private static func appendQuoted(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
