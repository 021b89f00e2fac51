import Glibc

/// Device id rules: 1-128 bytes of `A-Z a-z 0-9 . _ - : @ ~`; `all` and `server` are reserved.
public enum DeviceID {
    public static let maxBytes = 128
    public static let reserved: Set<String> = ["all", "server"]

    /// Why `id` cannot be a device id, or nil when it can.
    public static func problem(with id: String) -> String? {
        var copy = id
        // One pass over the bytes, no String compared: every message to an offline device asks.
        return copy.withUTF8 { bytes -> String? in
            if bytes.isEmpty { return "device id is empty" }
            if bytes.count > maxBytes { return "device id is longer than \(maxBytes) bytes" }
            for byte in bytes where !isAllowed(byte) { return "device id may only contain A-Z a-z 0-9 . _ - : @ ~" }
            if same(bytes, "all") || same(bytes, "server") { return "device id \"\(id)\" is reserved" }   // `reserved`, without hashing
            return nil
        }
    }

    private static func same(_ bytes: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        bytes.count == word.utf8CodeUnitCount && memcmp(bytes.baseAddress!, word.utf8Start, bytes.count) == 0
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
