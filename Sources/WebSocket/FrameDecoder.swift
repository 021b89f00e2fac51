/// What the decoder found in the bytes it was fed. Payloads point into the fed buffer or the
/// decoder's message buffer and are valid only during the callback.
public enum FrameEvent {
    case text(UnsafeRawBufferPointer)
    case binary(UnsafeRawBufferPointer)
    case ping(UnsafeRawBufferPointer)
    case pong(UnsafeRawBufferPointer)
    /// A whole data message whose first frame had RSV1 set (permessage-deflate, only when the
    /// decoder accepts compression): inflate it; text is checked for UTF-8 after inflating.
    case compressed(Opcode, UnsafeRawBufferPointer)
    /// A valid close frame; `code` is nil when the frame had no payload.
    case close(code: UInt16?, reason: UnsafeRawBufferPointer)
    /// The peer broke the protocol: close with this code. The decoder accepts nothing more.
    case failure(CloseCode, reason: String)
}

/// Incremental RFC 6455 frame decoder: bytes in any chunking in, whole messages out.
///
/// Payloads are unmasked in place in the caller's buffer. A message that arrives whole in one
/// buffer is handed out without a copy; only a message split across reads or frames is gathered
/// in `message`, which is the only thing kept between reads besides a partial header.
public struct FrameDecoder {
    // Fields are ordered by size and narrowed (lengths fit 32 bits: a message is at most
    // maxMessageBytes <= 1 GiB) so an idle connection's decoder stays at 64 bytes.
    private var header: (UInt64, UInt64) = (0, 0)   // header being assembled (at most 14 bytes)
    // Nil while nothing is gathered (the usual case): a decoder made and dropped each read then
    // holds no array to retain and release (about 60 instructions a read).
    private var message: [UInt8]?                    // message being assembled across reads/frames
    private var control: [UInt8]?                    // control payload split across reads
    private let storedMaxMessageBytes: UInt32
    private var storedFrameLength: UInt32 = 0
    private var storedRemaining: UInt32 = 0
    private var maskKey: UInt32 = 0
    public let role: Role
    private var phase = Phase.header
    private var storedHeaderCount: UInt8 = 0
    private var storedHeaderNeeded: UInt8 = 2
    private var opcode = Opcode.continuation
    private var fin = false
    /// RSV1 on the frame being read, and on the message being assembled.
    private var frameRSV1 = false
    private var messageCompressed = false
    /// permessage-deflate was negotiated: RSV1 may mark a message's first frame.
    public var acceptsCompression = false
    private var messageOpcode: Opcode?
    private var utf8 = UTF8Validator()

    private enum Phase: UInt8 { case header, payload, closed }

    public var maxMessageBytes: Int { Int(storedMaxMessageBytes) }
    private var frameLength: Int {
        get { Int(storedFrameLength) }
        set { storedFrameLength = UInt32(newValue) }
    }
    private var remaining: Int {
        get { Int(storedRemaining) }
        set { storedRemaining = UInt32(newValue) }
    }
    private var headerCount: Int {
        get { Int(storedHeaderCount) }
        set { storedHeaderCount = UInt8(newValue) }
    }
    private var headerNeeded: Int {
        get { Int(storedHeaderNeeded) }
        set { storedHeaderNeeded = UInt8(newValue) }
    }

    /// `maxMessageBytes` is capped at 1 GiB.
    public init(role: Role = .server, maxMessageBytes: Int = 1 << 20) {
        self.role = role
        storedMaxMessageBytes = UInt32(min(max(maxMessageBytes, 0), 1 << 30))
    }

    /// True after a close frame or a protocol failure: later bytes are ignored.
    public var isClosed: Bool { phase == .closed }

    /// True between messages with no partial frame: the decoder then holds nothing a fresh one
    /// (same role and limit) would not, so a connection need not keep it between reads.
    public var isBetweenMessages: Bool {
        phase == .header && storedHeaderCount == 0 && messageOpcode == nil && message == nil && control == nil
    }

    /// Bytes this decoder holds between reads (for memory accounting).
    public var bufferedBytes: Int { (message?.capacity ?? 0) + (control?.capacity ?? 0) }

    public mutating func feed(_ bytes: UnsafeMutableRawBufferPointer, _ emit: (FrameEvent) -> Void) {
        var index = 0
        let count = bytes.count
        while phase != .closed {
            if phase == .header {
                guard index < count else { return }
                index += readHeader(UnsafeRawBufferPointer(rebasing: bytes[index...]), emit)
                if phase != .payload { continue }
                if remaining == 0 { finishFrame(UnsafeRawBufferPointer(start: nil, count: 0), whole: true, emit); continue }
            }
            guard index < count else { return }
            let take = min(remaining, count - index)
            let slice = UnsafeMutableRawBufferPointer(rebasing: bytes[index..<index + take])
            let whole = take == frameLength
            applyMask(maskKey, offset: frameLength - remaining, to: slice)
            remaining -= take
            index += take
            payload(UnsafeRawBufferPointer(slice), whole: whole, emit)
        }
    }

    // MARK: Header

    /// Consumes header bytes; returns how many. Moves to `.payload` when the header is complete.
    private mutating func readHeader(_ bytes: UnsafeRawBufferPointer, _ emit: (FrameEvent) -> Void) -> Int {
        if headerCount == 0 && bytes.count >= 2 {
            let needed = FrameDecoder.headerSize(second: bytes[1])
            if bytes.count >= needed { return readWholeHeader(bytes, needed, emit) }
        }
        var used = 0
        var assembled = header
        while headerCount < headerNeeded && used < bytes.count && phase == .header {
            withUnsafeMutableBytes(of: &assembled) { $0[headerCount] = bytes[used] }
            headerCount += 1
            used += 1
            if headerCount == 2 {
                withUnsafeBytes(of: assembled) { startHeader($0[0], $0[1], emit) }
            }
        }
        header = assembled
        if phase == .header && headerCount == headerNeeded { finishHeader(emit) }
        return used
    }

    /// A header that lies whole in `bytes` (the usual case: a frame starts a read): checked and
    /// copied at once instead of byte by byte (about 200 instructions a frame less).
    private mutating func readWholeHeader(_ bytes: UnsafeRawBufferPointer, _ needed: Int, _ emit: (FrameEvent) -> Void) -> Int {
        startHeader(bytes[0], bytes[1], emit)
        guard phase == .header else { return 2 }   // failed: the stepwise path also stops after two bytes
        withUnsafeMutableBytes(of: &header) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<needed])) }
        finishHeader(emit)
        return needed
    }

    /// A header's size from its second byte: the extended length's bytes and the mask key's.
    @inline(__always)
    private static func headerSize(second: UInt8) -> Int {
        let length7 = second & 0x7F
        return 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (second & 0x80 != 0 ? 4 : 0)
    }

    private mutating func startHeader(_ first: UInt8, _ second: UInt8, _ emit: (FrameEvent) -> Void) {
        guard let code = Opcode(rawValue: first & 0x0F) else { return fail(.protocolError, "reserved opcode", emit) }
        // RSV1 is permessage-deflate's "compressed" bit: only with it negotiated, and only on a
        // message's first frame (RFC 7692 section 6); RSV2 and RSV3 belong to no extension here.
        frameRSV1 = first & 0x40 != 0
        guard first & 0x30 == 0, !frameRSV1 || (acceptsCompression && (code == .text || code == .binary)) else {
            return fail(.protocolError, "reserved bits set without an extension", emit)
        }
        let masked = second & 0x80 != 0
        if masked != (role == .server) {
            return fail(.protocolError, role == .server ? "client frames must be masked" : "server frames must not be masked", emit)
        }
        opcode = code
        fin = first & 0x80 != 0
        let length7 = Int(second & 0x7F)
        if code.isControl {
            guard fin else { return fail(.protocolError, "fragmented control frame", emit) }
            guard length7 <= 125 else { return fail(.protocolError, "control frame payload over 125 bytes", emit) }
        } else if code == .continuation {
            guard messageOpcode != nil else { return fail(.protocolError, "continuation without a message", emit) }
        } else {
            guard messageOpcode == nil else { return fail(.protocolError, "new message inside a fragmented one", emit) }
        }
        headerNeeded = FrameDecoder.headerSize(second: second)
    }

    private mutating func finishHeader(_ emit: (FrameEvent) -> Void) {
        var length = 0
        var keyOffset = 2
        withUnsafeBytes(of: &header) { storage in
            let length7 = Int(storage[1] & 0x7F)
            switch length7 {
            case 126:
                length = Int(storage[2]) << 8 | Int(storage[3])
                keyOffset = 4
            case 127:
                var wide: UInt64 = 0
                for position in 2..<10 { wide = wide << 8 | UInt64(storage[position]) }
                length = wide > UInt64(Int.max) ? -1 : Int(wide)
                keyOffset = 10
            default:
                length = length7
            }
            maskKey = role == .server ? storage.loadUnaligned(fromByteOffset: keyOffset, as: UInt32.self) : 0
        }
        headerCount = 0
        headerNeeded = 2
        guard length >= 0 else { return fail(.protocolError, "payload length has its top bit set", emit) }
        if !opcode.isControl && length > maxMessageBytes - (message?.count ?? 0) {
            return fail(.messageTooBig, "message exceeds \(maxMessageBytes) bytes", emit)
        }
        if opcode == .text || opcode == .binary {
            messageOpcode = opcode
            messageCompressed = frameRSV1
            utf8 = UTF8Validator()
        }
        frameLength = length
        remaining = length
        phase = .payload
    }

    // MARK: Payload

    private mutating func payload(_ slice: UnsafeRawBufferPointer, whole: Bool, _ emit: (FrameEvent) -> Void) {
        if opcode.isControl {
            if whole { return finishFrame(slice, whole: true, emit) }
            if control == nil { control = [] }
            control!.append(contentsOf: slice)
            if remaining == 0 { finishFrame(UnsafeRawBufferPointer(start: nil, count: 0), whole: false, emit) }
            return
        }
        if messageOpcode == .text && !messageCompressed && !utf8.validate(slice) {
            return fail(.invalidPayload, "text is not valid UTF-8", emit)
        }
        if whole && fin && message == nil { return finishFrame(slice, whole: true, emit) }
        if message == nil { message = [] }
        let needed = message!.count + slice.count
        if needed > message!.capacity {
            // Doubling alone could hold up to twice the message limit for a message just under it.
            message!.reserveCapacity(min(max(needed, message!.capacity * 2), maxMessageBytes))
        }
        message!.append(contentsOf: slice)
        if remaining == 0 { finishFrame(UnsafeRawBufferPointer(start: nil, count: 0), whole: false, emit) }
    }

    /// Called once per frame when its last payload byte is in. `direct` holds the whole payload
    /// when it arrived in one piece; otherwise the payload was gathered in a buffer.
    private mutating func finishFrame(_ direct: UnsafeRawBufferPointer, whole: Bool, _ emit: (FrameEvent) -> Void) {
        phase = .header
        switch opcode {
        case .ping, .pong, .close:
            if whole {
                control(direct, emit)
            } else {
                let gathered = control ?? []
                control = nil
                gathered.withUnsafeBytes { control($0, emit) }
            }
        case .text, .binary, .continuation:
            guard fin else { return }
            if messageOpcode == .text && !messageCompressed && !utf8.isComplete {
                return fail(.invalidPayload, "text ends inside a UTF-8 sequence", emit)
            }
            let kind = messageOpcode!
            messageOpcode = nil
            let compressed = messageCompressed
            messageCompressed = false
            func event(_ payload: UnsafeRawBufferPointer) -> FrameEvent {
                compressed ? .compressed(kind, payload) : kind == .text ? .text(payload) : .binary(payload)
            }
            if whole && message == nil {
                emit(event(direct))
            } else {
                let gathered = message ?? []
                message = nil
                gathered.withUnsafeBytes { emit(event($0)) }
            }
        }
    }

    private mutating func control(_ payload: UnsafeRawBufferPointer, _ emit: (FrameEvent) -> Void) {
        switch opcode {
        case .ping: emit(.ping(payload))
        case .pong: emit(.pong(payload))
        default: close(payload, emit)
        }
    }

    private mutating func close(_ payload: UnsafeRawBufferPointer, _ emit: (FrameEvent) -> Void) {
        if payload.isEmpty {
            phase = .closed
            return emit(.close(code: nil, reason: payload))
        }
        guard payload.count >= 2 else { return fail(.protocolError, "close payload of one byte", emit) }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard CloseCode.isAllowedOnWire(code) else { return fail(.protocolError, "close code \(code) not allowed", emit) }
        let reason = UnsafeRawBufferPointer(rebasing: payload[2...])
        guard UTF8Validator.isValid(reason) else { return fail(.invalidPayload, "close reason is not valid UTF-8", emit) }
        phase = .closed
        emit(.close(code: code, reason: reason))
    }

    private mutating func fail(_ code: CloseCode, _ reason: String, _ emit: (FrameEvent) -> Void) {
        phase = .closed
        message = nil
        control = nil
        emit(.failure(code, reason: reason))
    }
}
