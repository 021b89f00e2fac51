/// When to ping a connection and when to give it up: a connection silent for `interval` is
/// pinged; one that stays silent for `timeout` after that is dead. Any frame counts as life.
public struct HeartbeatPolicy: Sendable {
    public let intervalMilliseconds: UInt64
    public let timeoutMilliseconds: UInt64

    public init(intervalMilliseconds: UInt64, timeoutMilliseconds: UInt64) {
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public enum Action: Equatable {
        /// Nothing to do; look again at this time.
        case check(at: UInt64)
        /// Send a ping now, record `now` as the ping time, look again at this time.
        case ping(thenCheckAt: UInt64)
        /// Silent past the timeout after a ping: close it.
        case dead
    }

    /// `lastSeen`: when a frame last arrived; `pingSentAt`: the unanswered ping, if any.
    public func decide(now: UInt64, lastSeen: UInt64, pingSentAt: UInt64?) -> Action {
        if let pingSentAt, lastSeen < pingSentAt {
            let deadline = pingSentAt + timeoutMilliseconds
            return now >= deadline ? .dead : .check(at: deadline)
        }
        let due = lastSeen + intervalMilliseconds
        return now >= due ? .ping(thenCheckAt: now + timeoutMilliseconds) : .check(at: due)
    }
}

/// Items filed under the time they are next due, in buckets of `resolution` milliseconds: a sweep
/// touches only what is due, so idle connections cost nothing per tick.
public struct TimingWheel<Item> {
    public let resolution: UInt64
    private var buckets: [UInt64: [Item]] = [:]
    private var nextSlot: UInt64

    public init(resolution: UInt64, now: UInt64) {
        self.resolution = max(resolution, 1)
        nextSlot = now / self.resolution
    }

    public var count: Int { buckets.values.reduce(0) { $0 + $1.count } }

    public mutating func schedule(_ item: Item, at time: UInt64) {
        buckets[max(time / resolution, nextSlot), default: []].append(item)
    }

    /// Drops every item `isGone` says is gone, in one pass over all buckets: callers batch it (a
    /// closed connection waits for the next pass instead of each close searching its bucket).
    public mutating func removeAll(where isGone: (Item) -> Bool) {
        for slot in Array(buckets.keys) {
            buckets[slot]!.removeAll(where: isGone)
            if buckets[slot]!.isEmpty { buckets[slot] = nil }
        }
    }

    /// Removes and returns every item due at or before `now`, earliest first.
    public mutating func takeDue(now: UInt64) -> [Item] {
        let last = now / resolution
        guard last >= nextSlot else { return [] }
        var due: [Item] = []
        while nextSlot <= last {
            if let bucket = buckets.removeValue(forKey: nextSlot) { due += bucket }
            nextSlot += 1
        }
        // The current slot stays open: items filed into it after this sweep come out next time.
        nextSlot = last
        return due
    }
}
