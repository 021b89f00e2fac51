/// Incremental UTF-8 validation (RFC 3629) that fails on the first byte that can no longer
/// belong to a valid sequence, so a text message split across frames and reads is checked as
/// it arrives. Hand-written because the standard library validates only whole buffers.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected, and the allowed range of the next one.
    private var pending: UInt8 = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    public init() {}

    /// True when the bytes so far end on a character boundary.
    public var isComplete: Bool { pending == 0 }

    /// Feeds more bytes; false as soon as they cannot be valid UTF-8.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            if pending == 0 {
                // ASCII runs, eight bytes at a time.
                while index + 8 <= count,
                      base.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                }
                guard index < count else { return true }
                // A tail shorter than a word: the buffer's last eight bytes (overlapping what was
                // checked) read as one; all ASCII, the tail is too.
                if count - index < 8 && count >= 8 && base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    return true
                }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                if byte < 0x80 { index += 1; continue }
                // A whole sequence in the buffer is checked at once, without stepping the state.
                if index + 4 <= count {
                    let length = UTF8Validator.sequenceLength(base + index)
                    guard length > 0 else { return false }
                    index += length
                    continue
                }
                index += 1
                if !start(byte) { return false }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                guard byte >= lower && byte <= upper else { return false }
                pending -= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        return true
    }

    /// The length of the valid sequence starting at `p` (4 readable bytes), or 0 if invalid.
    @inline(__always)
    private static func sequenceLength(_ p: UnsafeRawPointer) -> Int {
        let b0 = p.load(as: UInt8.self)
        let b1 = p.load(fromByteOffset: 1, as: UInt8.self)
        @inline(__always) func tail(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return tail(b1) ? 2 : 0
        case 0xE0...0xEF:
            let b2 = p.load(fromByteOffset: 2, as: UInt8.self)
            let lowOK = b0 == 0xE0 ? b1 >= 0xA0 : true
            let highOK = b0 == 0xED ? b1 <= 0x9F : true
            return tail(b1) && tail(b2) && lowOK && highOK ? 3 : 0
        case 0xF0...0xF4:
            let b2 = p.load(fromByteOffset: 2, as: UInt8.self)
            let b3 = p.load(fromByteOffset: 3, as: UInt8.self)
            let lowOK = b0 == 0xF0 ? b1 >= 0x90 : true
            let highOK = b0 == 0xF4 ? b1 <= 0x8F : true
            return tail(b1) && tail(b2) && tail(b3) && lowOK && highOK ? 4 : 0
        default:
            return 0
        }
    }

    private mutating func start(_ byte: UInt8) -> Bool {
        switch byte {
        case 0xC2...0xDF: pending = 1
        case 0xE0: pending = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: pending = 2
        case 0xED: pending = 2; upper = 0x9F
        case 0xF0: pending = 3; lower = 0x90
        case 0xF1...0xF3: pending = 3
        case 0xF4: pending = 3; upper = 0x8F
        default: return false
        }
        return true
    }

    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isComplete
    }
}
