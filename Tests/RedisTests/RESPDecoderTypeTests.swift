import Redis
import Testing

/// Every RESP2 and RESP3 type decodes the same whole, byte by byte, and split at any point.
@Suite struct RESPDecoderTypeTests {
    static let samples: [(name: String, wire: String, reply: RedisReply)] = [
        ("simple string", "+OK\r\n", .simpleString(b("OK"))),
        ("empty simple string", "+\r\n", .simpleString([])),
        ("error", "-ERR unknown command 'FOO'\r\n", .error(b("ERR unknown command 'FOO'"))),
        ("integer", ":1000\r\n", .integer(1000)),
        ("negative integer", ":-42\r\n", .integer(-42)),
        ("largest integer", ":9223372036854775807\r\n", .integer(.max)),
        ("smallest integer", ":-9223372036854775808\r\n", .integer(.min)),
        ("bulk string", "$5\r\nhello\r\n", .bulkString(b("hello"))),
        ("bulk string holding CRLF", "$6\r\na\r\nb\r\n\r\n", .bulkString(b("a\r\nb\r\n"))),
        ("empty bulk string", "$0\r\n\r\n", .bulkString([])),
        ("null bulk string", "$-1\r\n", .bulkString(nil)),
        ("array", "*3\r\n$3\r\nfoo\r\n:1\r\n+bar\r\n", .array([.bulkString(b("foo")), .integer(1), .simpleString(b("bar"))])),
        ("empty array", "*0\r\n", .array([])),
        ("null array", "*-1\r\n", .array(nil)),
        ("nested arrays", "*2\r\n*1\r\n*0\r\n*2\r\n$-1\r\n*-1\r\n", .array([.array([.array([])]), .array([.bulkString(nil), .array(nil)])])),
        ("null", "_\r\n", .null),
        ("true", "#t\r\n", .boolean(true)),
        ("false", "#f\r\n", .boolean(false)),
        ("double", ",3.25\r\n", .double(3.25)),
        ("double with exponent", ",-1.5e3\r\n", .double(-1500)),
        ("infinity", ",inf\r\n", .double(.infinity)),
        ("negative infinity", ",-inf\r\n", .double(-.infinity)),
        ("big number", "(3492890328409238509324850943850943825024385\r\n", .bigNumber(b("3492890328409238509324850943850943825024385"))),
        ("negative big number", "(-12\r\n", .bigNumber(b("-12"))),
        ("blob error", "!21\r\nSYNTAX invalid syntax\r\n", .error(b("SYNTAX invalid syntax"))),
        ("verbatim string", "=15\r\ntxt:Some string\r\n", .verbatim(format: b("txt"), text: b("Some string"))),
        ("map", "%2\r\n+first\r\n:1\r\n+second\r\n#f\r\n",
         .map([RedisPair(key: .simpleString(b("first")), value: .integer(1)), RedisPair(key: .simpleString(b("second")), value: .boolean(false))])),
        ("empty map", "%0\r\n", .map([])),
        ("set", "~3\r\n+a\r\n:2\r\n_\r\n", .set([.simpleString(b("a")), .integer(2), .null])),
        ("push", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", .push([.bulkString(b("message")), .bulkString(b("ch")), .bulkString(b("hi"))])),
        ("attribute before a value is dropped",
         "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n", .array([.integer(2039123), .integer(9543892)])),
        ("attribute inside an aggregate is no element", "*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n", .array([.integer(1), .integer(2)])),
    ]

    @Test(arguments: samples.indices)
    func eachTypeDecodesWholeByteByByteAndAtEverySplit(_ index: Int) throws {
        let sample = Self.samples[index]
        let wire = b(sample.wire)
        #expect(try decode(wire, chunks: [wire.count]) == [sample.reply], "\(sample.name) whole")
        #expect(try decode(wire, chunks: Array(repeating: 1, count: wire.count)) == [sample.reply], "\(sample.name) byte by byte")
        for split in 1..<wire.count {
            #expect(try decode(wire, chunks: [split]) == [sample.reply], "\(sample.name) split at \(split)")
        }
    }

    @Test func allTypesBackToBackDecodeInOrderAtEverySplitPoint() throws {
        let wire = Self.samples.flatMap { b($0.wire) }
        let expected = Self.samples.map(\.reply)
        #expect(try decode(wire, chunks: [wire.count]) == expected)
        #expect(try decode(wire, chunks: Array(repeating: 1, count: wire.count)) == expected)
        for split in 1..<wire.count {
            #expect(try decode(wire, chunks: [split]) == expected, "split at \(split)")
        }
    }

    @Test func notANumberIsADouble() throws {
        let replies = try decode(b(",nan\r\n"), chunks: [2])
        guard case .double(let value) = replies.first else { Issue.record("got \(replies)"); return }
        #expect(value.isNaN)
    }

    @Test func aReplyOverOneMegabyteDecodesFromRandomChunks() throws {
        var random = SeededRandom(seed: 7)
        let payload = (0..<(1_500_000)).map { _ in UInt8.random(in: 0...255, using: &random) }
        var wire = b("*3\r\n+before\r\n$\(payload.count)\r\n")
        wire += payload
        wire += b("\r\n:7\r\n+after\r\n")
        for _ in 0..<5 {
            var sizes: [Int] = []
            var total = 0
            while total < wire.count {
                let size = Int.random(in: 1...70_000, using: &random)
                sizes.append(size)
                total += size
            }
            let replies = try decode(wire, chunks: sizes)
            #expect(replies == [.array([.simpleString(b("before")), .bulkString(payload), .integer(7)]), .simpleString(b("after"))])
        }
    }

    @Test func decodingStopsWhenTheCallbackSaysSo() throws {
        var decoder = RESPDecoder()
        var seen: [RedisReply] = []
        try b("+a\r\n+b\r\n+c\r\n").withUnsafeBytes { raw in
            try decoder.feed(raw) { reply in
                seen.append(reply)
                return seen.count < 2
            }
        }
        #expect(seen == [.simpleString(b("a")), .simpleString(b("b"))])
    }

    @Test func theDecoderIsIdleOnlyBetweenReplies() throws {
        var decoder = RESPDecoder()
        #expect(decoder.isIdle)
        _ = try decoder.feed(b("*2\r\n:1\r\n"))
        #expect(!decoder.isIdle)
        _ = try decoder.feed(b(":2\r\n$3\r\nab"))
        #expect(!decoder.isIdle)
        _ = try decoder.feed(b("c\r\n"))
        #expect(decoder.isIdle)
    }
}
