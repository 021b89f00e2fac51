/// Per-address connection limits: how many connections one address may hold open, and how many
/// new ones it may open per second (a token bucket holding up to twice that). Entries exist only
/// for addresses with open connections or a bucket still refilling.
public struct AddressLimits<Address: Hashable> {
    public enum Verdict: Equatable {
        case allow
        /// The address already holds `maxOpen` connections.
        case tooMany
        /// The address opened connections faster than `perSecond`.
        case tooFast
    }

    private struct Entry {
        var open: Int
        var tokens: Float
        var stamp: UInt64
    }

    public let maxOpen: Int
    public let perSecond: Int
    private var entries: [Address: Entry] = [:]

    public init(maxOpen: Int, perSecond: Int) {
        self.maxOpen = maxOpen
        self.perSecond = perSecond
    }

    /// A connection from `address` at loop time `now` (ms). An allowed one counts as open until `release`.
    public mutating func admit(_ address: Address, now: UInt64) -> Verdict {
        let burst = Float(max(perSecond, 1) * 2)
        var entry = entries[address] ?? Entry(open: 0, tokens: burst, stamp: now)
        entry.tokens = min(burst, entry.tokens + Float(now &- entry.stamp) * Float(perSecond) / 1000)
        entry.stamp = now
        defer { entries[address] = entry }
        if entry.open >= maxOpen { return .tooMany }
        if perSecond > 0 {
            guard entry.tokens >= 1 else { return .tooFast }
            entry.tokens -= 1
        }
        entry.open += 1
        return .allow
    }

    /// An allowed connection from `address` closed.
    public mutating func release(_ address: Address) {
        guard var entry = entries[address] else { return }
        entry.open = max(0, entry.open - 1)
        entries[address] = entry
    }

    /// Forgets addresses with nothing open whose bucket has refilled (call now and then).
    public mutating func prune(now: UInt64) {
        let burst = Float(max(perSecond, 1) * 2)
        entries = entries.filter { _, entry in
            entry.open > 0 || entry.tokens + Float(now &- entry.stamp) * Float(perSecond) / 1000 < burst
        }
    }

    public var trackedCount: Int { entries.count }

    public func openCount(_ address: Address) -> Int { entries[address]?.open ?? 0 }
}
