/// A binary min-heap of (time, item): the one ordered structure kept messages expire by. Items
/// are not removed when they stop mattering; whoever pops an entry checks whether it still does.
struct ExpiryHeap<Item> {
    private var entries: [(time: Int64, item: Item)] = []

    var count: Int { entries.count }
    var earliest: Int64? { entries.first?.time }

    mutating func push(_ item: Item, at time: Int64) {
        entries.append((time, item))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].time < entries[parent].time else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if its time is at or before `now`.
    mutating func popDue(now: Int64) -> (time: Int64, item: Item)? {
        guard let first = entries.first, first.time <= now else { return nil }
        let last = entries.removeLast()
        if entries.isEmpty { return first }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].time < entries[smallest].time { smallest = left }
            if right < entries.count && entries[right].time < entries[smallest].time { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
