/// A command encoded as its arguments are added: one buffer for a command of thousands of
/// arguments (a route call), instead of an array per argument copied again at the write.
public struct RESPCommand {
    /// Arguments so far.
    public private(set) var count = 0
    /// Each argument as `$len\r\n<bytes>\r\n`; the `*count` header is written at the send.
    public private(set) var body: [UInt8] = []

    public init() {}

    public init(_ arguments: [[UInt8]]) {
        for argument in arguments { append(argument) }
    }

    public mutating func reserveCapacity(_ bytes: Int) { body.reserveCapacity(bytes) }

    public mutating func append(_ argument: [UInt8]) {
        argument.withUnsafeBytes { append($0) }
    }

    /// The text's UTF-8 bytes as one argument.
    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func append(_ argument: UnsafeRawBufferPointer) {
        append(length: argument.count) { $0.write(argument) }
    }

    /// Appends one argument of `length` bytes, all written by `write`. The argument is built in
    /// scratch memory and appended with one copy: an append per piece costs more than the bytes.
    public mutating func append(length: Int, _ write: (inout ByteWriter) -> Void) {
        count += 1
        ByteWriter.append(1 + ByteWriter.digitCount(length) + 2 + length + 2, to: &body) { writer in
            writer.write(UInt8(ascii: "$"))
            writer.writeDigits(length)
            writer.write(13)
            writer.write(10)
            let start = writer.count
            write(&writer)
            precondition(writer.count - start == length, "an argument's bytes differ from its length")
            writer.write(13)
            writer.write(10)
        }
    }

    /// Appends the command made of `parts`' arguments, in order, to `buffer`.
    public static func encode(_ parts: [RESPCommand], into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        RESPEncoder.appendDecimal(parts.reduce(0) { $0 + $1.count }, to: &buffer)
        for part in parts { buffer.append(contentsOf: part.body) }
    }
}

/// Writes into memory sized beforehand; writing past its end is a programming error.
public struct ByteWriter {
    private let memory: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    public private(set) var count = 0

    init(_ memory: UnsafeMutableRawBufferPointer) { self.memory = memory }

    /// Appends `length` bytes, all written by `write`, to `buffer`, in place: an append per
    /// piece costs more than the bytes.
    public static func append(_ length: Int, to buffer: inout [UInt8], _ write: (inout ByteWriter) -> Void) {
        buffer.append(addingCapacity: length) { span in
            span.withUnsafeMutableBufferPointer { memory, initialized in
                var writer = ByteWriter(UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: memory[initialized..<(initialized + length)])))
                write(&writer)
                precondition(writer.count == length, "bytes written differ from the length given")
                initialized += length
            }
        }
    }

    public mutating func write(_ byte: UInt8) {
        memory[count] = byte
        count += 1
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(count + bytes.count <= memory.count)
        (memory.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// `value` (non-negative) in decimal.
    public mutating func writeDigits(_ value: Int) {
        let digits = ByteWriter.digitCount(value)
        var rest = value
        for index in stride(from: count + digits - 1, through: count, by: -1) {
            memory[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        count += digits
    }

    /// How many digits `writeDigits` writes for `value`.
    public static func digitCount(_ value: Int) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }
}
