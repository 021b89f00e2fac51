import CZlib

/// Inflates the payload of compressed messages (RSV1 on the first frame), RFC 7692 section 7.2.2.
///
/// Without context takeover (the default) every message starts afresh, so one inflater can serve
/// every connection on the loop. With it, the inflater belongs to one connection and keeps its
/// window between messages: zlib's inflate state (about 7 KiB) plus 2^windowBits bytes of window.
///
/// Output never grows past `maxMessageBytes`: a message that would inflate further stops there
/// with `.tooBig`, so a small zip bomb costs at most the limit in memory and time.
public final class MessageInflater {
    public let maxMessageBytes: Int
    public let keepsContext: Bool
    private let windowBits: Int
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: GrowableBuffer
    /// Bytes the last `inflate` wrote, even when it failed (tests check a bomb stopped at the limit).
    private(set) var lastOutputCount = 0

    /// `windowBits` (8...15) must be at least the sender's window; 15 accepts any. `retainedOutputBytes`
    /// is how much output buffer stays allocated between messages.
    public init(maxMessageBytes: Int, windowBits: Int = 15, keepsContext: Bool = false, retainedOutputBytes: Int = 16 * 1024) {
        precondition((8...15).contains(windowBits), "window bits are 8...15")
        self.maxMessageBytes = max(0, maxMessageBytes)
        self.keepsContext = keepsContext
        self.windowBits = windowBits
        stream = ZStream.makeInflater(windowBits: windowBits)
        output = GrowableBuffer(retainedCapacity: retainedOutputBytes)
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Inflates one message's payload (its frames' payloads joined) and lends the result to `body`,
    /// valid only during the call. Returns nil on success; on failure `body` is not called, and
    /// a context-keeping inflater must not be used again (the connection fails anyway).
    public func inflate(_ compressed: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) -> InflateError? {
        if !keepsContext { inflateReset(stream) }
        var produced = 0
        defer {
            lastOutputCount = produced
            output.trim()
        }
        // The sender stripped the empty stored block that ends a sync flush (00 00 ff ff); put it back.
        let tail = UInt32(littleEndian: 0xFFFF_0000)
        var ended = false
        if let error = run(compressed, produced: &produced, ended: &ended) { return error }
        if !ended, let error = withUnsafeBytes(of: tail, { run($0, produced: &produced, ended: &ended) }) { return error }
        if ended && keepsContext { restartKeepingWindow() }
        body(UnsafeRawBufferPointer(start: output.storage.baseAddress, count: produced))
        return nil
    }

    /// Inflates `input` into the output buffer after `produced` bytes. `ended` is set when the
    /// data holds a final block (BFINAL); whatever follows it is ignored, as zlib does.
    private func run(_ input: UnsafeRawBufferPointer, produced: inout Int, ended: inout Bool) -> InflateError? {
        guard !input.isEmpty else { return nil }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        var probe: UInt8 = 0
        while true {
            if produced == output.capacity && output.capacity < maxMessageBytes {
                output.reserve(min(maxMessageBytes, max(4096, output.capacity * 2, input.count * 4)), keeping: produced)
            }
            let room = min(output.capacity, maxMessageBytes) - produced
            let status: Int32
            if room > 0 {
                stream.pointee.next_out = (output.storage.baseAddress! + produced).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(room)
                status = CZlib.inflate(stream, Z_SYNC_FLUSH)
                produced += room - Int(stream.pointee.avail_out)
            } else {
                // At the limit: one byte more is proof enough that the message is too big.
                status = withUnsafeMutablePointer(to: &probe) { probe in
                    stream.pointee.next_out = probe
                    stream.pointee.avail_out = 1
                    return CZlib.inflate(stream, Z_SYNC_FLUSH)
                }
                if stream.pointee.avail_out == 0 { return .tooBig }
            }
            switch status {
            case Z_STREAM_END:
                ended = true
                return nil
            case Z_OK, Z_BUF_ERROR:
                // Done when all input is in and zlib stopped short of filling the room it had.
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return nil }
            default:
                return .invalid
            }
        }
    }

    /// After a final block a DEFLATE stream is over; the next message starts a new one that may
    /// still refer back into this one's window (context takeover), so the window is carried over.
    private func restartKeepingWindow() {
        var window = [UInt8](repeating: 0, count: 1 << windowBits)
        var length: uInt = 0
        inflateGetDictionary(stream, &window, &length)
        inflateReset(stream)
        inflateSetDictionary(stream, window, length)
    }
}
