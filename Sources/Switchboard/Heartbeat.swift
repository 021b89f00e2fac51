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

    /// Files `item` for `time`; returns the slot it went into (to remove it early).
    @discardableResult
    public mutating func schedule(_ item: Item, at time: UInt64) -> UInt64 {
        let slot = max(time / resolution, nextSlot)
        buckets[slot, default: []].append(item)
        return slot
    }

    /// `remove` for a slot kept in 32 bits: a filed item's slot is at or after the next slot due.
    public mutating func remove(_ item: Item, fromSlotLow32 low: UInt32) where Item: AnyObject {
        var slot = nextSlot & ~0xFFFF_FFFF | UInt64(low)
        if slot < nextSlot { slot += 1 << 32 }
        remove(item, fromSlot: slot)
    }

    /// Removes `item` from `slot` (a closed connection need not stay referenced until its time).
    public mutating func remove(_ item: Item, fromSlot slot: UInt64) where Item: AnyObject {
        guard let index = buckets[slot]?.firstIndex(where: { $0 === item }) else { return }
        buckets[slot]!.remove(at: index)
        if buckets[slot]!.isEmpty { buckets[slot] = nil }
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
