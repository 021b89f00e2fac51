import Storage

/// A kept message as Redis holds it: `expiry:sequence:senderCount:idCount:` in decimal, then the
/// sender's id, the raw `id` and the payload, unchanged. One string per message in its
/// recipient's list, so a kept message costs Redis its bytes and about 30 more; the Lua scripts
/// read the same header (`blobParts` in KeptScripts).
enum KeptBlob {
    static func decode(_ blob: [UInt8]) -> KeptMessage? {
        var fields: [Int64] = []
        var index = 0
        var value: Int64 = 0
        var digits = 0
        while fields.count < 4, index < blob.count {
            let byte = blob[index]
            index += 1
            if byte == UInt8(ascii: ":") {
                guard digits > 0 else { return nil }
                fields.append(value)
                value = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 18 {
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                digits += 1
            } else {
                return nil
            }
        }
        guard fields.count == 4 else { return nil }
        let senderCount = Int(fields[2]), idCount = Int(fields[3])
        guard blob.count - index >= senderCount + idCount else { return nil }
        let sender = String(decoding: blob[index..<(index + senderCount)], as: UTF8.self)
        let id = idCount > 0 ? Array(blob[(index + senderCount)..<(index + senderCount + idCount)]) : nil
        let message = blob[(index + senderCount + idCount)...].withUnsafeBytes {
            KeptMessage.make(payload: $0, sender: sender, idJSON: id, expiry: fields[0])
        }
        message.sequence = fields[1]
        return message
    }
}
