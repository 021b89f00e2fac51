import Redis
import Testing

/// Limits and malformed input end in an error, never in unbounded memory or a wrong reply.
@Suite struct RESPDecoderLimitTests {
    static func failure(_ wire: String, limits: RESPLimits = RESPLimits(), byteByByte: Bool = false) -> RESPError? {
        let bytes = b(wire)
        do {
            _ = try decode(bytes, chunks: byteByByte ? Array(repeating: 1, count: bytes.count) : [bytes.count], limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func aBulkOverTheLimitFailsAtItsHeaderBeforeAnyPayload() {
        let limits = RESPLimits(maxBulkBytes: 10)
        #expect(Self.failure("$10\r\n0123456789\r\n", limits: limits) == nil)
        #expect(Self.failure("$11\r\n", limits: limits) == .bulkTooLarge(11))
        #expect(Self.failure("!11\r\n", limits: limits) == .bulkTooLarge(11))
        #expect(Self.failure("=11\r\n", limits: limits) == .bulkTooLarge(11))
        #expect(Self.failure("$99999999999\r\n") == .bulkTooLarge(99_999_999_999))
    }

    @Test func nestingDeeperThanTheLimitFails() {
        let limits = RESPLimits(maxDepth: 4)
        #expect(Self.failure(String(repeating: "*1\r\n", count: 3) + "*0\r\n", limits: limits) == nil)
        #expect(Self.failure(String(repeating: "*1\r\n", count: 4) + "*0\r\n", limits: limits) == .tooDeep)
        #expect(Self.failure(String(repeating: "%1\r\n", count: 5), limits: limits) == .tooDeep)
    }

    @Test func elementsAreCountedOverTheWholeReply() {
        let limits = RESPLimits(maxElements: 4)
        #expect(Self.failure("*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", limits: limits) == nil)
        #expect(Self.failure("*5\r\n", limits: limits) == .tooManyElements(5))
        #expect(Self.failure("*2\r\n*2\r\n:1\r\n:2\r\n:3\r\n", limits: limits) == nil)
        #expect(Self.failure("*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n", limits: limits) == .tooManyElements(5))
        #expect(Self.failure("%3\r\n", limits: limits) == .tooManyElements(6))   // pairs count twice
        #expect(Self.failure("*99999999999\r\n") == .tooManyElements(99_999_999_999))
        // The count starts again with each reply.
        #expect(Self.failure("*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", limits: limits) == nil)
    }

    @Test func aLineLongerThanTheLimitFailsBeforeItsEnd() {
        let limits = RESPLimits(maxLineBytes: 8)
        #expect(Self.failure("+12345678\r\n", limits: limits) == nil)
        #expect(Self.failure("+12345678\r\n", limits: limits, byteByByte: true) == nil)
        #expect(Self.failure("+123456789\r\n", limits: limits) == .lineTooLong)
        // Over the limit and without CR: the same error whole and split (found by fuzzing).
        #expect(Self.failure("+" + String(repeating: "x", count: 20) + "\n", limits: limits) == .lineTooLong)
        #expect(Self.failure("+" + String(repeating: "x", count: 20) + "\n", limits: limits, byteByByte: true) == .lineTooLong)
        // No terminator needed: the held part alone is over the limit.
        #expect(Self.failure("+" + String(repeating: "x", count: 100), limits: limits, byteByByte: true) == .lineTooLong)
    }

    @Test(arguments: [
        ("@\r\n", RESPError.unknownType(UInt8(ascii: "@"))),
        ("+OK\n", .missingCRLF),
        ("+OK\rX\n", .missingCRLF),
        ("$3\r\nabcXY", .missingCRLF),
        ("$3\r\nabc\rX", .missingCRLF),
        (":12a\r\n", .invalidNumber),
        (":\r\n", .invalidNumber),
        (":-\r\n", .invalidNumber),
        (":9223372036854775808\r\n", .invalidNumber),
        (":-9223372036854775809\r\n", .invalidNumber),
        ("$-2\r\n", .invalidNumber),
        ("$?\r\n", .invalidNumber),
        ("*-2\r\n", .invalidNumber),
        ("%-1\r\n", .invalidNumber),
        ("_x\r\n", .invalidValue),
        ("#x\r\n", .invalidValue),
        ("#tt\r\n", .invalidValue),
        (",abc\r\n", .invalidValue),
        (",\r\n", .invalidValue),
        (", 1\r\n", .invalidValue),
        ("(12a\r\n", .invalidValue),
        ("(\r\n", .invalidValue),
        ("=3\r\ntxt\r\n", .invalidValue),
        ("=5\r\ntxt-x\r\n", .invalidValue),
    ])
    func malformedInputIsAnError(_ wire: String, _ expected: RESPError) {
        #expect(Self.failure(wire) == expected, "whole: \(wire.debugDescription)")
        #expect(Self.failure(wire, byteByByte: true) == expected, "byte by byte: \(wire.debugDescription)")
    }

    @Test func afterAnErrorEveryFeedFails() throws {
        var decoder = RESPDecoder()
        #expect(throws: RESPError.unknownType(UInt8(ascii: "?"))) { _ = try decoder.feed(b("+OK\r\n?")) }
        #expect(throws: RESPError.unknownType(UInt8(ascii: "?"))) { _ = try decoder.feed(b("+OK\r\n")) }
    }

    @Test func repliesBeforeAnErrorInTheSameChunkAreDelivered() {
        var decoder = RESPDecoder()
        var seen: [RedisReply] = []
        let bytes = b("+a\r\n:1\r\n@")
        #expect(throws: RESPError.self) {
            try bytes.withUnsafeBytes { raw in try decoder.feed(raw) { seen.append($0); return true } }
        }
        #expect(seen == [.simpleString(b("a")), .integer(1)])
    }

    /// Random RESP-like streams: decoding in any chunking gives the replies and the error of decoding whole.
    @Test func chunkingNeverChangesTheOutcome() {
        var random = SeededRandom(seed: 2024)
        let pieces = ["+OK", "-ERR x", ":12", ":-", "$3", "$-1", "$0", "abc", "*2", "*-1", "%1", "~1", ">2", "|1", "_", "#t",
                      ",1.5", "(9", "!1", "=7", "txt:abc", "\r\n", "\r\n", "\r\n", "\n", "\r", "@"].map(b)
        let limits = RESPLimits(maxBulkBytes: 64, maxElements: 16, maxDepth: 4, maxLineBytes: 16)
        func outcome(_ bytes: [UInt8], _ sizes: [Int]) -> ([String], RESPError?) {
            var decoder = RESPDecoder(limits: limits)
            var replies: [String] = []
            var start = 0
            for size in sizes + [bytes.count] where start < bytes.count {
                let end = min(start + size, bytes.count)
                do {
                    try Array(bytes[start..<end]).withUnsafeBytes { raw in
                        try decoder.feed(raw) { replies.append(String(describing: $0)); return true }
                    }
                } catch {
                    return (replies, error as? RESPError)
                }
                start = end
            }
            return (replies, nil)
        }
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 1...24, using: &random)).flatMap { _ in pieces.randomElement(using: &random)! }
            let whole = outcome(bytes, [bytes.count])
            let step = Int.random(in: 1...7, using: &random)
            let split = outcome(bytes, Array(repeating: step, count: bytes.count))
            #expect(whole.0 == split.0 && whole.1 == split.1, "\(String(decoding: bytes, as: UTF8.self).debugDescription) in steps of \(step)")
        }
    }
}
