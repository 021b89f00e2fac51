/// Kept messages in memory, by recipient, with their rules: the bounds, the order of keeping and
/// expiry. Plain state with no clock of its own (callers pass wall-clock milliseconds): the
/// memory and SQLite stores wrap it.
///
/// Expiry uses one ordered structure with an entry per recipient (at its earliest expiry), not a
/// timer or an entry per message; a due recipient's queue (at most `messagesPerRecipient` long)
/// is scanned once.
public struct KeptQueues {
    final class Queue {
        let recipient: String
        var messages: [KeptMessage] = []
        var bytes = 0
        /// The time the heap holds this queue's live entry for (older entries are stale).
        var scheduled = Int64.max
        var isGone = false

        init(_ recipient: String) { self.recipient = recipient }
    }

    public let limits: KeptLimits
    private var queues: [String: Queue] = [:]
    private var expiries = ExpiryHeap<Queue>()
    public private(set) var total = KeptAmount()
    /// The order of keeping across all recipients (a message's `sequence`).
    private var nextSequence: Int64 = 1

    public init(limits: KeptLimits) {
        self.limits = limits
    }

    /// Keeps `message` for `recipient` after the ones kept before it, unless a bound would be
    /// passed (then nothing changes). `force` skips the bounds: for a message already promised
    /// that comes back (its delivery failed, or it is loaded at start). A new message is numbered
    /// in the order of keeping; one that comes back keeps its number and so its place.
    public mutating func admit(_ message: KeptMessage, for recipient: String, force: Bool = false) -> KeptRefusal? {
        let queue = queues[recipient]
        if !force {
            if (queue?.messages.count ?? 0) >= limits.messagesPerRecipient { return .recipientMessages }
            if (queue?.bytes ?? 0) + message.size > limits.bytesPerRecipient { return .recipientBytes }
            if total.bytes + message.size > limits.totalBytes { return .totalBytes }
        }
        let target = queue ?? Queue(recipient)
        if queue == nil { queues[recipient] = target }
        if message.sequence == 0 {
            message.sequence = nextSequence
            nextSequence += 1
        } else {
            nextSequence = max(nextSequence, message.sequence + 1)
        }
        if let last = target.messages.last, last.sequence > message.sequence {
            target.messages.insert(message, at: target.messages.partitioningIndex { $0.sequence > message.sequence })
        } else {
            target.messages.append(message)
        }
        target.bytes += message.size
        total.messages += 1
        total.bytes += message.size
        if message.expiry < target.scheduled {
            target.scheduled = message.expiry
            expiries.push(target, at: message.expiry)
        }
        return nil
    }

    /// False only when nothing is kept for `recipient`.
    public func mayHold(_ recipient: String) -> Bool { queues[recipient] != nil }

    public func holding(for recipient: String) -> KeptAmount {
        guard let queue = queues[recipient] else { return KeptAmount() }
        return KeptAmount(messages: queue.messages.count, bytes: queue.bytes)
    }

    /// Removes everything kept for `recipient`: the messages still within their ttl at `now`, in
    /// the order kept, and apart those whose ttl has run out.
    public mutating func take(for recipient: String, now: Int64) -> (taken: [KeptMessage], expired: [KeptMessage]) {
        guard let queue = queues.removeValue(forKey: recipient) else { return ([], []) }
        queue.isGone = true
        total.messages -= queue.messages.count
        total.bytes -= queue.bytes
        var taken: [KeptMessage] = []
        var expired: [KeptMessage] = []
        taken.reserveCapacity(queue.messages.count)
        for message in queue.messages {
            if message.expiry > now { taken.append(message) } else { expired.append(message) }
        }
        return (taken, expired)
    }

    /// Removes every message whose ttl has run out at `now`, showing each to `visit` with its recipient.
    public mutating func expire(now: Int64, _ visit: (String, KeptMessage) -> Void) {
        while let (time, queue) = expiries.popDue(now: now) {
            guard !queue.isGone, time == queue.scheduled else { continue }   // stale entry
            queue.scheduled = .max
            let due = queue.messages.filter { $0.expiry <= now }
            remove(due.map(ObjectIdentifier.init), from: queue)
            for message in due { visit(queue.recipient, message) }
        }
    }

    /// Removes the messages kept for `recipient` that `matches` picks (an unpair); returns them.
    public mutating func remove(for recipient: String, where matches: (KeptMessage) -> Bool) -> [KeptMessage] {
        guard let queue = queues[recipient] else { return [] }
        let picked = queue.messages.filter(matches)
        remove(picked.map(ObjectIdentifier.init), from: queue)
        return picked
    }

    /// The earliest expiry of anything kept (stale entries included: a time to look, not a promise).
    public var nextExpiry: Int64? { expiries.earliest }

    private mutating func remove(_ gone: [ObjectIdentifier], from queue: Queue) {
        if !gone.isEmpty {
            let goneSet = Set(gone)
            let before = queue.bytes
            queue.messages.removeAll { goneSet.contains(ObjectIdentifier($0)) }
            queue.bytes = queue.messages.reduce(0) { $0 + $1.size }
            total.messages -= gone.count
            total.bytes -= before - queue.bytes
        }
        if queue.messages.isEmpty {
            queue.isGone = true
            queues[queue.recipient] = nil
            return
        }
        let earliest = queue.messages.reduce(Int64.max) { min($0, $1.expiry) }
        if earliest < queue.scheduled {
            queue.scheduled = earliest
            expiries.push(queue, at: earliest)
        }
    }
}

extension Array {
    /// The first index whose element `isAfter` says is past the point (the array is partitioned by it).
    func partitioningIndex(where isAfter: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if isAfter(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
