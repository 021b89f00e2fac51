import Glibc

/// The fixed part of a kept message; the bytes follow it in the same allocation.
public struct KeptMessageHeader {
    /// Wall-clock time (milliseconds since 1970) after which the message is not delivered.
    var expiry: Int64
    /// The order of keeping (the SQLite row id); 0 until the store numbers it.
    var sequence: Int64
    var payloadCount: UInt32
    var idCount: UInt32
    var senderCount: UInt8
}

/// One message kept for an offline device: the sender's bytes unchanged, plus the sender's id and
/// the message's `id` (raw JSON) for receipts. One allocation each (fixed fields and bytes
/// together) while it is handed out or on its way into a store; a local store holds it packed
/// instead (`KeptRecord` in `KeptBlocks`).
public final class KeptMessage: ManagedBuffer<KeptMessageHeader, UInt8> {
    /// Copies `payload`, `sender` and `idJSON` into a new message that expires at `expiry`.
    public static func make(payload: UnsafeRawBufferPointer, sender: String, idJSON: [UInt8]?, expiry: Int64) -> KeptMessage {
        var sender = sender
        return sender.withUTF8 { senderBytes in
            guard let idJSON else { return make(payload: payload, sender: UnsafeRawBufferPointer(senderBytes), id: nil, expiry: expiry) }
            return idJSON.withUnsafeBytes { make(payload: payload, sender: UnsafeRawBufferPointer(senderBytes), id: $0, expiry: expiry) }
        }
    }

    /// Copies the three parts (a sender's id past 255 bytes is cut: device ids are at most 128).
    static func make(payload: UnsafeRawBufferPointer, sender: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer?, expiry: Int64) -> KeptMessage {
        let senderCount = min(sender.count, Int(UInt8.max))
        let idCount = id?.count ?? 0
        let header = KeptMessageHeader(expiry: expiry, sequence: 0, payloadCount: UInt32(payload.count),
                                       idCount: UInt32(idCount), senderCount: UInt8(senderCount))
        let message = unsafeDowncast(create(minimumCapacity: payload.count + senderCount + idCount) { _ in header }, to: KeptMessage.self)
        message.withUnsafeMutablePointerToElements { start in
            let raw = UnsafeMutableRawPointer(start)
            if let base = payload.baseAddress { raw.copyMemory(from: base, byteCount: payload.count) }
            if let base = sender.baseAddress { (raw + payload.count).copyMemory(from: base, byteCount: senderCount) }
            if let id, let base = id.baseAddress { (raw + payload.count + senderCount).copyMemory(from: base, byteCount: idCount) }
        }
        return message
    }

    /// Bytes counted against the bounds: the payload's.
    public var size: Int { Int(header.payloadCount) }

    public var expiry: Int64 { header.expiry }

    public var sequence: Int64 {
        get { header.sequence }
        set { header.sequence = newValue }
    }

    /// The sender's bytes, as sent.
    public func withPayload<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeMutablePointerToElements { try body(UnsafeRawBufferPointer(start: $0, count: Int(header.payloadCount))) }
    }

    public var payload: [UInt8] { withPayload { Array($0) } }

    /// The sender's device id.
    public var sender: String {
        withUnsafeMutablePointerToElements {
            String(decoding: UnsafeBufferPointer(start: $0 + Int(header.payloadCount), count: Int(header.senderCount)), as: UTF8.self)
        }
    }

    /// The raw JSON of the message's `id`, when it had one (receipts name it).
    public var idJSON: [UInt8]? {
        guard header.idCount > 0 else { return nil }
        return withUnsafeMutablePointerToElements {
            Array(UnsafeBufferPointer(start: $0 + Int(header.payloadCount) + Int(header.senderCount), count: Int(header.idCount)))
        }
    }

    /// The payload, the sender's id and the raw `id` (nil when none). The bytes live inside this
    /// object and never move: the pointers are good while the caller keeps the message alive
    /// (the journal binds a batch of rows in place this way, then runs the statement).
    var parts: (payload: UnsafeRawBufferPointer, sender: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer?) {
        let start = UnsafeRawPointer(withUnsafeMutablePointerToElements { $0 })
        let payload = Int(header.payloadCount), sender = Int(header.senderCount), id = Int(header.idCount)
        return (UnsafeRawBufferPointer(start: start, count: payload), UnsafeRawBufferPointer(start: start + payload, count: sender),
                id > 0 ? UnsafeRawBufferPointer(start: start + payload + sender, count: id) : nil)
    }

    /// Whether `bytes` are this message's payload (finding a kept message among a connection's frames).
    public func hasPayload(_ bytes: UnsafeRawBufferPointer) -> Bool {
        withPayload { own in own.count == bytes.count && (own.isEmpty || memcmp(own.baseAddress!, bytes.baseAddress!, own.count) == 0) }
    }
}
