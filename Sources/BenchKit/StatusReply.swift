/// The two things a load script needs of a server reply `{"status":N,...,"id":ID}`, read
/// without a JSON parser: its status and the numeric id it names (the reply's last member).
enum StatusReply {
    private static let prefix = Array("{\"status\":".utf8)

    /// The status of a reply; nil for anything else (messages, presence).
    static func status(_ payload: UnsafeRawBufferPointer) -> Int? {
        guard payload.count > prefix.count + 1, payload.starts(with: prefix) else { return nil }
        var value = 0
        var index = prefix.count
        while index < payload.count, payload[index] >= 48, payload[index] <= 57 {
            value = value * 10 + Int(payload[index] - 48)
            index += 1
        }
        return index > prefix.count ? value : nil
    }

    /// The numeric `"id"` a reply ends with (`...,"id":123}`); nil when it has none.
    static func id(_ payload: UnsafeRawBufferPointer) -> Int? {
        var index = payload.count - 2   // before the closing brace
        var value = 0
        var scale = 1
        while index >= 0, payload[index] >= 48, payload[index] <= 57 {
            value += Int(payload[index] - 48) * scale
            scale *= 10
            index -= 1
        }
        guard scale > 1, index >= 5, payload[index] == UInt8(ascii: ":"), payload[index - 1] == UInt8(ascii: "\"") else { return nil }
        return value
    }
}
