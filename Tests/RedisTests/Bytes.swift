import Redis

/// Test shorthand: the bytes of a string literal.
func b(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A command from words: `command("SET", "k", "v")`.
func command(_ words: String...) -> [[UInt8]] { words.map(b) }

/// A small seeded generator (xorshift64*), so random chunkings repeat run to run.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

/// Decodes `bytes` fed in the given chunk sizes (the last chunk takes the rest).
func decode(_ bytes: [UInt8], chunks sizes: [Int], limits: RESPLimits = RESPLimits()) throws(RESPError) -> [RedisReply] {
    var decoder = RESPDecoder(limits: limits)
    var replies: [RedisReply] = []
    var start = 0
    for size in sizes where start < bytes.count {
        let end = min(start + size, bytes.count)
        replies += try decoder.feed(Array(bytes[start..<end]))
        start = end
    }
    if start < bytes.count { replies += try decoder.feed(Array(bytes[start...])) }
    return replies
}
