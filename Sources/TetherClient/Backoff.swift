/// Reconnect delays with full jitter: attempt n (from 0) waits a random time in
/// [0, min(cap, base * 2^n)). The defaults match the JavaScript client: 0.5 s doubling to 15 s.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(15)) {
        self.base = base
        self.cap = cap
    }

    /// The upper bound (exclusive) of attempt `attempt`'s delay, in milliseconds.
    public func ceilingMilliseconds(attempt: Int) -> Int64 {
        let doubled = base.milliseconds << Int64(min(max(attempt, 0), 30))
        return min(cap.milliseconds, doubled)
    }

    /// The delay before attempt `attempt`; `random` returns a value in [0, 1).
    public func delay(attempt: Int, random: () -> Double = { Double.random(in: 0..<1) }) -> Duration {
        .milliseconds(Int64(random() * Double(ceilingMilliseconds(attempt: attempt))))
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
