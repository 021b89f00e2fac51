import Redis

/// A routed message as it travels to its holder: `deviceCount:senderCount:payloadCount:` in
/// decimal, then the recipient's id, the sender's id and the payload, unchanged.
///
/// The sending node builds it and the route script joins one holder's records into a single
/// field of one inbox entry, so Redis' stream, its XREAD reply and the holder's parsing cost per
/// batch, not per message. The script reads the header only for a message to keep or to check
/// (`recordParts` in ClusterScripts).
enum InboxRecord {
    /// Appends the record to `buffer`.
    static func append(device: String, sender: String, payload: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        var device = device, sender = sender
        device.withUTF8 { device in
            sender.withUTF8 { sender in
                let counts = (device.count, sender.count, payload.count)
                let length = 3 + ByteWriter.digitCount(counts.0) + ByteWriter.digitCount(counts.1)
                    + ByteWriter.digitCount(counts.2) + counts.0 + counts.1 + counts.2
                ByteWriter.append(length, to: &buffer) { writer in
                    writer.writeDigits(counts.0)
                    writer.write(UInt8(ascii: ":"))
                    writer.writeDigits(counts.1)
                    writer.write(UInt8(ascii: ":"))
                    writer.writeDigits(counts.2)
                    writer.write(UInt8(ascii: ":"))
                    writer.write(UnsafeRawBufferPointer(device))
                    writer.write(UnsafeRawBufferPointer(sender))
                    writer.write(payload)
                }
            }
        }
    }

    /// Calls `body` with each record's device, sender and payload, in order; false when the bytes
    /// end in something that is not a whole record (what came before it was handed over).
    @discardableResult
    static func forEach(in records: UnsafeRawBufferPointer,
                        _ body: (_ device: String, _ sender: String, _ payload: UnsafeRawBufferPointer) -> Void) -> Bool {
        var index = 0
        while index < records.count {
            guard let deviceCount = number(records, &index), let senderCount = number(records, &index),
                  let payloadCount = number(records, &index),
                  records.count - index >= deviceCount + senderCount + payloadCount else { return false }
            let device = String(decoding: UnsafeRawBufferPointer(rebasing: records[index..<(index + deviceCount)]), as: UTF8.self)
            index += deviceCount
            let sender = String(decoding: UnsafeRawBufferPointer(rebasing: records[index..<(index + senderCount)]), as: UTF8.self)
            index += senderCount
            body(device, sender, UnsafeRawBufferPointer(rebasing: records[index..<(index + payloadCount)]))
            index += payloadCount
        }
        return true
    }

    /// Decimal digits up to a `:` (consumed); nil for anything else or more than 9 digits.
    private static func number(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Int? {
        var value = 0
        var digits = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ":") { return digits > 0 ? value : nil }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return nil
    }
}
