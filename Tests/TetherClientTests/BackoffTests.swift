import Testing
@testable import TetherClient

@Suite struct BackoffTests {
    @Test func defaultsDoubleFromHalfASecondToFifteen() {
        let backoff = Backoff()
        #expect((0...6).map { backoff.ceilingMilliseconds(attempt: $0) } == [500, 1000, 2000, 4000, 8000, 15000, 15000])
        #expect(backoff.ceilingMilliseconds(attempt: 1_000_000) == 15000)
    }

    @Test func delaysUseFullJitterUnderTheCeiling() {
        let backoff = Backoff()
        for attempt in 0..<40 {
            let ceiling = backoff.ceilingMilliseconds(attempt: attempt)
            #expect(backoff.delay(attempt: attempt, random: { 0 }) == .zero)
            #expect(backoff.delay(attempt: attempt, random: { 1 - .ulpOfOne }).milliseconds == ceiling - 1)
            for _ in 0..<50 {
                let delay = backoff.delay(attempt: attempt).milliseconds
                #expect(delay >= 0 && delay < ceiling)
            }
        }
    }
}
