import Redis
import Testing

/// Commands go out as RESP arrays of bulk strings, byte for byte.
@Suite struct RESPEncoderTests {
    @Test func aCommandIsAnArrayOfBulkStrings() {
        #expect(RESPEncoder.encode(command("SET", "key", "value")) == b("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"))
        #expect(RESPEncoder.encode([b("PING")]) == b("*1\r\n$4\r\nPING\r\n"))
    }

    @Test func emptyAndBinaryArgumentsAreSentAsTheyAre() {
        #expect(RESPEncoder.encode([b("ECHO"), []]) == b("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"))
        let binary: [UInt8] = [0, 13, 10, 255]
        #expect(RESPEncoder.encode([binary]) == b("*1\r\n$4\r\n") + binary + b("\r\n"))
    }

    @Test func lengthsOfManyDigitsAreWrittenInDecimal() {
        for length in [9, 10, 99, 100, 12_345, 1_048_576] {
            let argument = [UInt8](repeating: 0x61, count: length)
            let encoded = RESPEncoder.encode([argument])
            #expect(encoded.starts(with: b("*1\r\n$\(length)\r\n")))
            #expect(encoded.count == "*1\r\n$\(length)\r\n".utf8.count + length + 2)
        }
        let many = (0..<12).map { _ in b("x") }
        #expect(RESPEncoder.encode(many).starts(with: b("*12\r\n$1\r\nx\r\n")))
    }

    @Test func encodingAppendsToWhatIsAlreadyThere() {
        var buffer = b("*1\r\n$4\r\nPING\r\n")
        RESPEncoder.encode([b("PING")], into: &buffer)
        #expect(buffer == b("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"))
    }

    @Test func anEncodedCommandDecodesToTheSameArguments() throws {
        var random = SeededRandom(seed: 3)
        let arguments = (0..<20).map { _ in (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) } }
        var decoder = RESPDecoder()
        #expect(try decoder.feed(RESPEncoder.encode(arguments)) == [.array(arguments.map { .bulkString($0) })])
    }

    @Test func aCommandBuiltArgumentByArgumentEncodesAsTheWholeOne() {
        var random = SeededRandom(seed: 5)
        let arguments = (0..<30).map { _ in (0..<Int.random(in: 0...2000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) } }
        let head = RESPCommand(Array(arguments[0..<3]))
        var tail = RESPCommand()
        for argument in arguments[3...] { argument.withUnsafeBytes { tail.append($0) } }
        tail.append("text é")
        tail.append(length: 12) { writer in
            writer.writeDigits(1_234_567)
            writer.write(UInt8(ascii: ":"))
            b("abcd").withUnsafeBytes { writer.write($0) }
        }
        var buffer: [UInt8] = []
        RESPCommand.encode([head, tail], into: &buffer)
        #expect(head.count + tail.count == 32)
        #expect(buffer == RESPEncoder.encode(arguments + [b("text é"), b("1234567:abcd")]))
        #expect(ByteWriter.digitCount(0) == 1 && ByteWriter.digitCount(9) == 1 && ByteWriter.digitCount(10) == 2)
    }
}
