/// Encodes commands as RESP arrays of bulk strings, the only form Redis takes from clients.
public enum RESPEncoder {
    /// Appends `*N\r\n` and one `$len\r\n<bytes>\r\n` per argument to `buffer`.
    public static func encode(_ command: [[UInt8]], into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        appendDecimal(command.count, to: &buffer)
        for argument in command {
            buffer.append(UInt8(ascii: "$"))
            appendDecimal(argument.count, to: &buffer)
            buffer.append(contentsOf: argument)
            buffer.append(contentsOf: crlf)
        }
    }

    /// The encoding of one command on its own.
    public static func encode(_ command: [[UInt8]]) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 + command.reduce(0) { $0 + $1.count + 16 })
        encode(command, into: &buffer)
        return buffer
    }

    private static let crlf: [UInt8] = [13, 10]

    /// Appends `value` (non-negative) in decimal and CRLF, without going through String.
    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value < 10 {
            buffer.append(UInt8(ascii: "0") + UInt8(value))
        } else {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                         UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var count = 0
            var rest = value
            withUnsafeMutableBytes(of: &digits) { scratch in
                while rest > 0 {
                    scratch[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                    count += 1
                }
                buffer.append(contentsOf: scratch[(20 - count)...])
            }
        }
        buffer.append(contentsOf: crlf)
    }
}
