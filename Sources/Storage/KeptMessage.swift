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
/// the message's `id` (raw JSON) for receipts. One allocation each (header and bytes together):
/// a kept message costs its bytes, its sender's id and about 60 bytes more.
public final class KeptMessage: ManagedBuffer<KeptMessageHeader, UInt8> {
    /// Copies `payload`, `sender` and `idJSON` into a new message that expires at `expiry`.
    public static func make(payload: UnsafeRawBufferPointer, sender: String, idJSON: [UInt8]?, expiry: Int64) -> KeptMessage {
        let senderBytes = Array(sender.utf8.prefix(Int(UInt8.max)))   // device ids are at most 128 bytes
        let id = idJSON ?? []
        let count = payload.count + senderBytes.count + id.count
        let header = KeptMessageHeader(expiry: expiry, sequence: 0, payloadCount: UInt32(payload.count),
                                       idCount: UInt32(id.count), senderCount: UInt8(senderBytes.count))
        let message = unsafeDowncast(KeptMessage.create(minimumCapacity: count) { _ in header }, to: KeptMessage.self)
        message.withUnsafeMutablePointerToElements { start in
            let raw = UnsafeMutableRawPointer(start)
            if !payload.isEmpty { raw.copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
            senderBytes.withUnsafeBytes { if !$0.isEmpty { (raw + payload.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            id.withUnsafeBytes { if !$0.isEmpty { (raw + payload.count + senderBytes.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
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

    /// Whether `bytes` are this message's payload (finding a kept message among a connection's frames).
    public func hasPayload(_ bytes: UnsafeRawBufferPointer) -> Bool {
        withPayload { own in own.count == bytes.count && (own.isEmpty || memcmp(own.baseAddress!, bytes.baseAddress!, own.count) == 0) }
    }
}
