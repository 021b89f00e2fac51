import CZlib

/// Compresses outgoing messages without context takeover (RFC 7692 section 7.2.1): each message
/// is a fresh DEFLATE stream, so one deflater serves every connection on the loop and no
/// connection keeps compressor memory. It holds one zlib stream per window size in use (at most
/// seven, made on first use: about 2^(windowBits+2) + 2^(memoryLevel+9) bytes each, 144 KiB at
/// the defaults) and one output buffer.
public final class MessageDeflater {
    /// Measured on Tether's envelopes (ThresholdMeasurement): a 63-byte key press deflates to 56,
    /// a 106-byte text input to 90, a 162-byte batch to 109. Below about 128 bytes the saving is
    /// under 20 bytes, less than the packet's TCP/IP and TLS overhead, for 2-4 µs of CPU each.
    public static let defaultMinimumSize = 128

    /// Messages shorter than this go uncompressed.
    public let minimumSize: Int
    private let level: Int32
    private let memoryLevel: Int32
    private var streams: [UnsafeMutablePointer<z_stream>?] = Array(repeating: nil, count: 7)   // window bits 9...15
    private var output = GrowableBuffer(retainedCapacity: 64 * 1024)

    /// `memoryLevel` 5 rather than zlib's 8: the same bytes for Tether's messages (measured up to
    /// 4 KiB), less CPU per small message (a smaller hash table to clear per message), and
    /// 112 KiB less memory per stream.
    public init(minimumSize: Int = MessageDeflater.defaultMinimumSize, level: Int32 = 6, memoryLevel: Int32 = 5) {
        self.minimumSize = minimumSize
        self.level = level
        self.memoryLevel = memoryLevel
    }

    deinit {
        for case let stream? in streams {
            deflateEnd(stream)
            stream.deallocate()
        }
        output.deallocate()
    }

    /// Compresses `message` for a connection whose agreed server window is `windowBits` (8...15)
    /// and lends the payload to send, RSV1 set, to `body` (valid only during the call). Returns
    /// false, without calling `body`, when the message should go as it is: shorter than
    /// `minimumSize`, or not smaller once compressed.
    public func compress(_ message: UnsafeRawBufferPointer, windowBits: Int = 15, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard message.count >= minimumSize else { return false }
        var smaller = false
        deflate(message, windowBits: windowBits) { payload in
            guard payload.count < message.count else { return }
            smaller = true
            body(payload)
        }
        return smaller
    }

    /// Compresses `message` whatever its size and lends the payload (the sync flush's last four
    /// bytes stripped, RFC 7692 section 7.2.1) to `body`, valid only during the call.
    public func deflate(_ message: UnsafeRawBufferPointer, windowBits: Int = 15, _ body: (UnsafeRawBufferPointer) -> Void) {
        precondition((8...15).contains(windowBits), "window bits are 8...15")
        let stream = self.stream(windowBits: windowBits)
        deflateReset(stream)
        defer { output.trim() }
        // A sync flush adds at most an empty stored block and a partial byte to deflateBound's worst case.
        output.reserve(Int(deflateBound(stream, uLong(message.count))) + 16, keeping: 0)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: message.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(message.count)
        stream.pointee.next_out = output.storage.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.capacity)
        let status = CZlib.deflate(stream, Z_SYNC_FLUSH)
        precondition(status == Z_OK && stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0,
                     "deflate with room for its worst case cannot fail: \(status)")
        let length = output.capacity - Int(stream.pointee.avail_out) - 4
        body(UnsafeRawBufferPointer(start: output.storage.baseAddress, count: length))
    }

    /// zlib cannot deflate with a 256-byte window; with 512 it never refers more than 250 bytes
    /// back (window minus 262), which an 8-bit window still holds.
    private func stream(windowBits: Int) -> UnsafeMutablePointer<z_stream> {
        let bits = max(9, windowBits)
        if let stream = streams[bits - 9] { return stream }
        let stream = ZStream.makeDeflater(level: level, windowBits: bits, memoryLevel: memoryLevel)
        streams[bits - 9] = stream
        return stream
    }
}
