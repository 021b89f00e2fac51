import Glibc

/// The records of one journal row: every message a tick kept, back to back in one blob, so a
/// tick costs SQLite one row however many messages it kept.
///
/// A record: sequence and expiry (8 bytes each), payload and id counts (4 each; id 0: none),
/// recipient and sender counts (1 each: device ids are at most 128 bytes), then the recipient,
/// the sender, the id and the payload. Little-endian.
enum JournalRecords {
    static let headerBytes = 26

    /// Appends `message`, kept for `recipient`, to `blob`.
    static func append(_ message: KeptMessage, for recipient: String, to blob: RecordBuffer) {
        append(KeptParts(message), for: recipient, to: blob)
    }

    /// Appends the message of `parts` (numbered), kept for `recipient`, to `blob`.
    static func append(_ parts: KeptParts, for recipient: String, to blob: RecordBuffer) {
        var recipient = recipient
        let (payload, sender, id) = (parts.payload, parts.sender, parts.id)
        recipient.withUTF8 { recipientBytes in
            let recipientCount = min(recipientBytes.count, Int(UInt8.max))
            let idCount = id?.count ?? 0
            let at = blob.grow(by: headerBytes + recipientCount + sender.count + idCount + payload.count)
            at.storeBytes(of: parts.sequence.littleEndian, toByteOffset: 0, as: Int64.self)
            at.storeBytes(of: parts.expiry.littleEndian, toByteOffset: 8, as: Int64.self)
            at.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 16, as: UInt32.self)
            at.storeBytes(of: UInt32(idCount).littleEndian, toByteOffset: 20, as: UInt32.self)
            at.storeBytes(of: UInt8(recipientCount), toByteOffset: 24, as: UInt8.self)
            at.storeBytes(of: UInt8(sender.count), toByteOffset: 25, as: UInt8.self)
            var next = at + headerBytes
            func copy(_ part: UnsafeRawBufferPointer?, _ count: Int) {
                if let base = part?.baseAddress, count > 0 { next.copyMemory(from: base, byteCount: count) }
                next += count
            }
            copy(UnsafeRawBufferPointer(recipientBytes), recipientCount)
            copy(sender, sender.count)
            copy(id, idCount)
            copy(payload, payload.count)
        }
    }

    /// Calls `body` with each record of `blob` in order: its recipient and the message (numbered).
    static func forEach(in blob: UnsafeRawBufferPointer, _ body: (String, KeptMessage) -> Void) throws(StorageError) {
        var at = 0
        while at < blob.count {
            guard blob.count - at >= headerBytes else { throw corrupt(at) }
            let sequence = Int64(littleEndian: blob.loadUnaligned(fromByteOffset: at, as: Int64.self))
            let expiry = Int64(littleEndian: blob.loadUnaligned(fromByteOffset: at + 8, as: Int64.self))
            let payloadCount = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: at + 16, as: UInt32.self)))
            let idCount = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: at + 20, as: UInt32.self)))
            let recipientCount = Int(blob[at + 24]), senderCount = Int(blob[at + 25])
            let recipientAt = at + headerBytes
            let senderAt = recipientAt + recipientCount, idAt = senderAt + senderCount, payloadAt = idAt + idCount
            let end = payloadAt + payloadCount
            guard end <= blob.count else { throw corrupt(at) }
            let recipient = String(decoding: blob[recipientAt..<senderAt], as: UTF8.self)
            let message = KeptMessage.make(payload: UnsafeRawBufferPointer(rebasing: blob[payloadAt..<end]),
                                           sender: UnsafeRawBufferPointer(rebasing: blob[senderAt..<idAt]),
                                           id: idCount > 0 ? UnsafeRawBufferPointer(rebasing: blob[idAt..<payloadAt]) : nil,
                                           expiry: expiry)
            message.sequence = sequence
            body(recipient, message)
            at = end
        }
    }

    private static func corrupt(_ offset: Int) -> StorageError {
        StorageError("a kept-message journal row is cut short at byte \(offset)")
    }
}

/// A growable byte buffer written in place: the records of a tick, rebuilt every commit without
/// the per-append bookkeeping of an array.
final class RecordBuffer {
    private(set) var start: UnsafeMutableRawPointer?
    private(set) var count = 0
    private var capacity = 0

    deinit { free(start) }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }

    /// Empties the buffer; one grown past `keeping` bytes by a burst is given back.
    func removeAll(keeping: Int = 256 << 10) {
        count = 0
        if capacity > keeping {
            free(start)
            start = nil
            capacity = 0
        }
    }

    /// Room for `size` more bytes at the end; returns where they go.
    func grow(by size: Int) -> UnsafeMutableRawPointer {
        if count + size > capacity {
            capacity = max(capacity * 2, count + size, 4096)
            guard let moved = realloc(start, capacity) else { fatalError("out of memory for \(capacity) bytes of kept records") }
            start = moved
        }
        defer { count += size }
        return start! + count
    }
}
