import Testing
import Switchboard

@Suite struct RateLimiterTests {
    @Test func allowsABurstOfTwiceTheRateThenRefuses() {
        var limiter = RateLimiter<Int>(perSecond: 10)
        let verdicts = (0..<21).map { _ in limiter.admit(1, now: 1000) }
        #expect(verdicts.prefix(20).allSatisfy { $0 == .allow })
        #expect(verdicts.last == .refuse)
    }

    @Test func refillsWithTime() {
        var limiter = RateLimiter<Int>(perSecond: 10)
        for _ in 0..<20 { _ = limiter.admit(1, now: 1000) }
        #expect(limiter.admit(1, now: 1000) == .refuse)
        #expect(limiter.admit(1, now: 1100) == .allow)   // 100 ms at 10/s is one token
        #expect(limiter.admit(1, now: 1100) == .refuse)
    }

    @Test func aSenderThatKeepsFloodingIsAFlood() {
        var limiter = RateLimiter<Int>(perSecond: 2)
        for _ in 0..<4 { #expect(limiter.admit(1, now: 0) == .allow) }
        for _ in 0..<6 { #expect(limiter.admit(1, now: 0) == .refuse) }   // three seconds' worth
        #expect(limiter.admit(1, now: 0) == .flood)
    }

    @Test func sendersHaveTheirOwnBucketsAndAreForgotten() {
        var limiter = RateLimiter<Int>(perSecond: 1)
        _ = limiter.admit(1, now: 0)
        _ = limiter.admit(1, now: 0)
        #expect(limiter.admit(1, now: 0) == .refuse)
        #expect(limiter.admit(2, now: 0) == .allow)
        #expect(limiter.trackedCount == 2)
        limiter.forget(1)
        #expect(limiter.trackedCount == 1)
        #expect(limiter.admit(1, now: 0) == .allow)
    }
}
