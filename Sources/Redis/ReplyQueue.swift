/// Callbacks waiting for replies, oldest first (Redis answers in order). Taken slots are
/// cleared at once so a callback's captures are let go with it.
struct ReplyQueue {
    struct Entry {
        /// Loop time (ms) by which the reply must have come.
        let deadline: UInt64
        let callback: (RedisReply) -> Void
    }

    private var slots: [Entry?] = []
    private var head = 0

    var isEmpty: Bool { head == slots.count }
    var count: Int { slots.count - head }
    var first: Entry? { isEmpty ? nil : slots[head] }
    var last: Entry? { isEmpty ? nil : slots[slots.count - 1] }

    mutating func append(_ entry: Entry) { slots.append(entry) }

    mutating func removeFirst() -> Entry {
        let entry = slots[head]!
        slots[head] = nil
        head += 1
        if head == slots.count {
            slots.removeAll(keepingCapacity: slots.capacity <= 65_536)
            head = 0
        } else if head >= 4096 && head * 2 >= slots.count {
            slots.removeFirst(head)
            head = 0
        }
        return entry
    }

    /// Empties the queue, returning what it held in order.
    mutating func takeAll() -> [Entry] {
        let entries = slots[head...].map { $0! }
        slots = []
        head = 0
        return entries
    }
}
