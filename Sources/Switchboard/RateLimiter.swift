/// Per-sender message rate limits: a token bucket each, refilled at `perSecond` and holding up to
/// twice that (a burst). Buckets exist only for senders that have sent since the limit was set, so
/// with no limit configured a connection carries nothing for it.
public struct RateLimiter<Key: Hashable> {
    public enum Verdict: Equatable {
        case allow
        /// Over the rate: refuse this message.
        case refuse
        /// Refused for three seconds' worth of messages since the bucket was last full: a flood.
        case flood
    }

    private struct Bucket {
        var stamp: UInt64
        var tokens: Float
        var refused: UInt32 = 0
    }

    public let perSecond: Int
    private var buckets: [Key: Bucket] = [:]

    public init(perSecond: Int) {
        self.perSecond = perSecond
    }

    /// Takes a token for one message from `key` at loop time `now` (milliseconds).
    public mutating func admit(_ key: Key, now: UInt64) -> Verdict {
        let burst = Float(perSecond * 2)
        var bucket = buckets[key] ?? Bucket(stamp: now, tokens: burst)
        bucket.tokens = min(burst, bucket.tokens + Float(now &- bucket.stamp) * Float(perSecond) / 1000)
        bucket.stamp = now
        if bucket.tokens >= burst { bucket.refused = 0 }
        let verdict: Verdict
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            verdict = .allow
        } else {
            bucket.refused += 1
            verdict = bucket.refused > UInt32(perSecond * 3) ? .flood : .refuse
        }
        buckets[key] = bucket
        return verdict
    }

    /// Drops the bucket of a sender that is gone.
    public mutating func forget(_ key: Key) {
        buckets[key] = nil
    }

    public var trackedCount: Int { buckets.count }
}
