/// Reconnect delays with full jitter: attempt n (from 0) waits a random time in
/// [0, min(cap, base * 2^n)). Defaults: 50 ms doubling to 5 s, so a fleet that lost Redis
/// together does not come back together, and a lone blip costs at most 50 ms.
public struct RedisBackoff: Equatable, Sendable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(50), cap: Duration = .seconds(5)) {
        self.base = base
        self.cap = cap
    }

    /// The upper bound (exclusive) of attempt `attempt`'s delay, in milliseconds.
    public func ceilingMilliseconds(attempt: Int) -> UInt64 {
        let doubled = base.wholeMilliseconds << UInt64(min(max(attempt, 0), 30))
        return max(1, min(cap.wholeMilliseconds, doubled))
    }

    /// The delay before attempt `attempt`; `random` returns a value in [0, 1).
    public func delayMilliseconds(attempt: Int, random: () -> Double = { Double.random(in: 0..<1) }) -> UInt64 {
        UInt64(random() * Double(ceilingMilliseconds(attempt: attempt)))
    }
}

extension Duration {
    /// Milliseconds, rounded down, never negative (libuv timers take UInt64 milliseconds).
    var wholeMilliseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
    }
}
