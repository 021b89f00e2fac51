/// Accounting for routed messages of one pair: what was sent, what arrived, and whether
/// anything arrived twice, out of order, or not at all.
public struct RouteLedger {
    public private(set) var sent = 0
    public private(set) var received = 0
    public private(set) var duplicated = 0
    public private(set) var reordered = 0
    private var seen: [Bool] = []
    private var highest = -1

    public init() {}

    /// Numbers the next message to send.
    public mutating func nextSequence() -> Int {
        defer { sent += 1 }
        seen.append(false)
        return sent
    }

    public mutating func record(_ sequence: Int) {
        guard sequence >= 0, sequence < seen.count else { duplicated += 1; return }
        if seen[sequence] { duplicated += 1; return }
        seen[sequence] = true
        received += 1
        if sequence < highest { reordered += 1 }
        highest = max(highest, sequence)
    }

    public var inFlight: Int { sent - received }
    /// Sent and never received (meaningful once the run has drained).
    public var lost: Int { sent - received }
}

/// Accounting for presence: each watcher must see each (device, state) event exactly once.
public struct PresenceLedger {
    public let watchers: Int
    public let events: Int
    private var counts: [UInt8]

    public init(watchers: Int, events: Int) {
        self.watchers = watchers
        self.events = events
        counts = [UInt8](repeating: 0, count: watchers * events)
    }

    /// Returns true when this was the first sighting.
    @discardableResult
    public mutating func record(watcher: Int, event: Int) -> Bool {
        let slot = watcher * events + event
        if counts[slot] < 255 { counts[slot] += 1 }
        return counts[slot] == 1
    }

    public func missing(events range: Range<Int>) -> Int {
        var total = 0
        for watcher in 0..<watchers { for event in range where counts[watcher * events + event] == 0 { total += 1 } }
        return total
    }

    public func duplicated(events range: Range<Int>) -> Int {
        var total = 0
        for watcher in 0..<watchers { for event in range where counts[watcher * events + event] > 1 { total += Int(counts[watcher * events + event]) - 1 } }
        return total
    }
}
