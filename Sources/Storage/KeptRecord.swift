import Glibc

/// How a kept message sits in its recipient's chain: a header of LEB128 varints (about 11 bytes
/// for a typical message), the payload, then the extras: the sender's id and the raw `id`, each
/// only when the payload does not hold those bytes verbatim (it nearly always does, so they cost
/// an offset, not a copy).
///
/// Header: sequence, expiry (zigzag, after the store's base: 4 bytes instead of 6 for a wall-clock
/// millisecond), payload count, sender count, sender offset, id count (0: no id), id offset (absent
/// when there is no id). Offsets count from the payload's start; one at or past its end points
/// into the extras, which is how their length is known.
struct KeptRecord: Equatable {
    var sequence: Int64
    var expiry: Int64
    var payloadCount: Int
    var senderAt: Int
    var senderCount: Int
    var idAt: Int
    var idCount: Int

    /// The bytes stored after the payload.
    var extrasCount: Int {
        (senderAt >= payloadCount ? senderCount : 0) + (idCount > 0 && idAt >= payloadCount ? idCount : 0)
    }

    /// The bytes after the header.
    var regionCount: Int { payloadCount + extrasCount }

    static let maxHeaderBytes = 7 * 10

    /// The record of `message`; `extras` gets the bytes to store after the payload.
    init(_ message: KeptMessage, extras: inout [UInt8]) {
        self.init(KeptParts(message), extras: &extras)
    }

    /// The record of `parts`; `extras` gets the bytes to store after the payload.
    init(_ parts: KeptParts, extras: inout [UInt8]) {
        extras.removeAll(keepingCapacity: true)
        let (payload, sender, id) = (parts.payload, parts.sender, parts.id)
        sequence = parts.sequence
        expiry = parts.expiry
        payloadCount = payload.count
        senderCount = sender.count
        idCount = id?.count ?? 0
        assert(parts.senderAt.map { Self.holds(payload, sender, at: $0) } ?? true && parts.idAt.map { Self.holds(payload, id, at: $0) } ?? true)
        senderAt = parts.senderAt ?? Self.offset(of: sender, in: payload) ?? payload.count + extras.count
        if senderAt >= payload.count { extras.append(contentsOf: sender) }
        if let id, !id.isEmpty {
            idAt = parts.idAt ?? Self.offset(of: id, in: payload) ?? payload.count + extras.count
            if idAt >= payload.count { extras.append(contentsOf: id) }
        } else {
            idAt = 0
        }
    }

    /// Writes the header at `start` (room for `maxHeaderBytes`), the expiry after `base`; returns its length.
    func encodeHeader(at start: UnsafeMutableRawPointer, expiryBase base: Int64) -> Int {
        var length = 0
        func put(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                start.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: length, as: UInt8.self)
                length += 1
                value >>= 7
            }
            start.storeBytes(of: UInt8(value), toByteOffset: length, as: UInt8.self)
            length += 1
        }
        put(UInt64(bitPattern: sequence))
        let delta = expiry &- base
        put(UInt64(bitPattern: (delta << 1) ^ (delta >> 63)))
        put(UInt64(payloadCount))
        put(UInt64(senderCount))
        put(UInt64(senderAt))
        put(UInt64(idCount))
        if idCount > 0 { put(UInt64(idAt)) }
        return length
    }

    /// Reads a header written with `base`, one byte at a time from `next`.
    init(expiryBase base: Int64, decodingWith next: () -> UInt8) {
        func get() -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = next()
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        sequence = Int64(bitPattern: get())
        let zigzag = get()
        expiry = base &+ Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
        payloadCount = Int(get())
        senderCount = Int(get())
        senderAt = Int(get())
        idCount = Int(get())
        idAt = idCount > 0 ? Int(get()) : 0
    }

    /// Whether `haystack` holds `needle` at `offset`.
    static func holds(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer?, at offset: Int) -> Bool {
        guard let needle else { return false }
        return offset >= 0 && offset + needle.count <= haystack.count
            && needle.elementsEqual(UnsafeRawBufferPointer(rebasing: haystack[offset..<offset + needle.count]))
    }

    /// Where `needle` first occurs in `haystack` (0 when it is empty).
    static func offset(of needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> Int? {
        guard !needle.isEmpty else { return 0 }
        guard needle.count <= haystack.count, let base = haystack.baseAddress, let wanted = needle.baseAddress else { return nil }
        let last = haystack.count - needle.count   // the last start that leaves room for the needle
        var start = 0
        // memchr finds each candidate first byte (a byte loop cost about 400 instructions per message).
        while start <= last, let hit = memchr(base + start, Int32(needle[0]), last - start + 1) {
            start = UnsafeRawPointer(hit) - base
            if memcmp(base + start, wanted, needle.count) == 0 { return start }
            start += 1
        }
        return nil
    }
}

extension KeptMessage {
    /// The message `record` describes, its region (payload and extras) being `region`.
    static func make(_ record: KeptRecord, region: UnsafeRawBufferPointer) -> KeptMessage {
        let message = make(payload: UnsafeRawBufferPointer(rebasing: region[0..<record.payloadCount]),
                           sender: UnsafeRawBufferPointer(rebasing: region[record.senderAt..<(record.senderAt + record.senderCount)]),
                           id: record.idCount > 0 ? UnsafeRawBufferPointer(rebasing: region[record.idAt..<(record.idAt + record.idCount)]) : nil,
                           expiry: record.expiry)
        message.sequence = record.sequence
        return message
    }
}
