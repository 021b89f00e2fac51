import SHA1
@testable import Redis
import Testing

/// The URL, the backoff and the script hash.
@Suite struct SmallPartsTests {
    @Test func redisURLsNameHostPortAndDatabase() {
        #expect(RedisURL("redis://127.0.0.1") == RedisURL(host: "127.0.0.1", port: 6379))
        #expect(RedisURL("redis://10.0.0.7:6380") == RedisURL(host: "10.0.0.7", port: 6380))
        #expect(RedisURL("redis://localhost:6380/2") == RedisURL(host: "localhost", port: 6380, database: 2))
        #expect(RedisURL("redis://[::1]:7000/0") == RedisURL(host: "::1", port: 7000, database: 0))
        #expect(RedisURL("redis://[::1]") == RedisURL(host: "::1", port: 6379))
        #expect(RedisURL("redis://h/") == RedisURL(host: "h", port: 6379))
        #expect(RedisURL("redis://[::1]:7000/3")?.description == "redis://[::1]:7000/3")
    }

    @Test(arguments: ["http://h", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536", "redis://h:x",
                      "redis://h/x", "redis://h/-1", "redis://user:pw@h", "redis://h?db=1", "redis://[::1", "redis://[::1]x"])
    func badRedisURLsAreRefused(_ text: String) {
        #expect(RedisURL(text) == nil)
    }

    @Test func backoffDoublesFrom50MillisecondsTo5SecondsWithFullJitter() {
        let backoff = RedisBackoff()
        #expect((0..<9).map { backoff.ceilingMilliseconds(attempt: $0) } == [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000])
        #expect(backoff.ceilingMilliseconds(attempt: 1000) == 5000)
        #expect(backoff.delayMilliseconds(attempt: 3) { 0 } == 0)
        #expect(backoff.delayMilliseconds(attempt: 3) { 0.999 } == 399)
        for attempt in 0..<12 {
            #expect(backoff.delayMilliseconds(attempt: attempt) < backoff.ceilingMilliseconds(attempt: attempt))
        }
    }

    @Test func sha1MatchesTheStandardVectors() {
        #expect(SHA1Digest.hexDigest([]) == b("da39a3ee5e6b4b0d3255bfef95601890afd80709"))
        #expect(SHA1Digest.hexDigest(b("abc")) == b("a9993e364706816aba3e25717850c26c9cd0d89d"))
        #expect(SHA1Digest.hexDigest(b("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) == b("84983e441c3bd26ebaae4aa1f95129e5e54670f1"))
        #expect(SHA1Digest.hexDigest([UInt8](repeating: 0x61, count: 1_000_000)) == b("34aa973cd4c4daa4f61eeb2bdbad27316534016f"))
    }
}
