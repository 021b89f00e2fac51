/// Device id rules: 1-128 bytes of `A-Z a-z 0-9 . _ - : @ ~`; `all` and `server` are reserved.
public enum DeviceID {
    public static let maxBytes = 128
    public static let reserved: Set<String> = ["all", "server"]

    /// Why `id` cannot be a device id, or nil when it can.
    public static func problem(with id: String) -> String? {
        let bytes = id.utf8
        if bytes.isEmpty { return "device id is empty" }
        if bytes.count > maxBytes { return "device id is longer than \(maxBytes) bytes" }
        var copy = id
        guard copy.withUTF8({ $0.allSatisfy(isAllowed) }) else { return "device id may only contain A-Z a-z 0-9 . _ - : @ ~" }
        if id == "all" || id == "server" { return "device id \"\(id)\" is reserved" }   // `reserved`, without hashing
        return nil
    }

    public static func isValid(_ id: String) -> Bool { problem(with: id) == nil }

    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
