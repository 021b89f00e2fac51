import StringBytes

/// Device id -> peer, as an open-addressing table that stores peer references and 32 bits of
/// each id's hash (16 bytes a slot): a registered device's id is read from the peer itself.
/// Written by hand because a standard Dictionary keeps a copy of each key beside its value (24
/// bytes a slot), which at 20,000 idle devices is most of what the registry costs.
///
/// Contract: while a peer is in the table, its `deviceID` is the id it was inserted under (the
/// switchboard keeps it so).
struct DeviceTable<Peer: SwitchboardPeer> {
    /// A peer beside its id's tag: `empty`, `removed`, or the low 32 bits of the id's hash (see
    /// `tag`). Probes compare tags before reading a peer's id (at 20,000 devices every peer read
    /// is a cache miss), the two share a cache line, and a rebuild re-places peers by their tags
    /// without reading or hashing any id.
    private struct Slot {
        var tag: UInt32
        var peer: Peer?
    }

    private var slots = [Slot](repeating: Slot(tag: DeviceTable.empty, peer: nil), count: 16)
    private(set) var count = 0
    private var removedCount = 0

    private static var empty: UInt32 { 0 }
    private static var removed: UInt32 { 1 }

    private var mask: Int { slots.count - 1 }

    static var slotSize: Int { MemoryLayout<Slot>.stride }

    subscript(id: String) -> Peer? {
        slot(for: id) { sameBytes($0.deviceID, id) }?.peer
    }

    /// The id's hash as a slot's tag: its low 32 bits, moved off the two states (rarely).
    @inline(__always)
    private static func tag(_ id: String) -> UInt32 {
        let tag = UInt32(truncatingIfNeeded: hash(id))
        return tag > removed ? tag : tag &+ 2
    }

    /// SipHash of the id's UTF-8 bytes under the process's random key, without String's
    /// Unicode-aware `hash(into:)` around it: ids are compared as bytes anyway.
    @inline(__always)
    private static func hash(_ id: String) -> Int {
        id.withBytes { IDHasher.shared.hash(UnsafeRawBufferPointer($0)) }
    }

    /// Walks `id`'s probe sequence to the first peer that `matches`; stops at an empty slot.
    @inline(__always)
    private func slot(for id: String, where matches: (Peer) -> Bool) -> (index: Int, peer: Peer)? {
        let tag = DeviceTable.tag(id)
        var index = Int(tag) & mask
        while true {
            let slotTag = slots[index].tag
            if slotTag == DeviceTable.empty { return nil }
            if slotTag == tag, let peer = slots[index].peer, matches(peer) { return (index, peer) }
            index = (index + 1) & mask
        }
    }

    /// Makes `peer` the entry for `id`; returns the peer it replaces, if any.
    mutating func insert(_ peer: Peer, for id: String) -> Peer? {
        if (count + removedCount + 1) * 4 > slots.count * 3 { rebuild() }
        let tag = DeviceTable.tag(id)
        var index = Int(tag) & mask
        var reusable: Int?
        while true {
            let slotTag = slots[index].tag
            if slotTag == DeviceTable.empty { break }
            if slotTag == DeviceTable.removed {
                if reusable == nil { reusable = index }
            } else if slotTag == tag, let existing = slots[index].peer, sameBytes(existing.deviceID, id) {
                slots[index].peer = peer
                return existing
            }
            index = (index + 1) & mask
        }
        if let reusable {
            index = reusable
            removedCount -= 1
        }
        slots[index] = Slot(tag: tag, peer: peer)
        count += 1
        return nil
    }

    /// Removes `peer` (found by identity, so its id may already be cleared) if it is the entry
    /// for `id`. Returns whether it was.
    @discardableResult
    mutating func remove(_ peer: Peer, for id: String) -> Bool {
        guard let (index, _) = slot(for: id, where: { $0 === peer }) else { return false }
        slots[index] = Slot(tag: DeviceTable.removed, peer: nil)
        count -= 1
        removedCount += 1
        return true
    }

    func forEach(_ body: (Peer) -> Void) {
        for slot in slots { if let peer = slot.peer { body(peer) } }
    }

    /// Rebuilds without removed slots, sized so the live entries fill at most half of it (it
    /// shrinks after many removals). Ids are unique here, so each peer goes to the first empty
    /// slot from its tag's home.
    private mutating func rebuild() {
        var capacity = 16
        while capacity < (count + 1) * 2 { capacity *= 2 }
        let old = slots
        slots = [Slot](repeating: Slot(tag: DeviceTable.empty, peer: nil), count: capacity)
        removedCount = 0
        for slot in old where slot.tag > DeviceTable.removed {
            var index = Int(slot.tag) & mask
            while slots[index].tag != DeviceTable.empty { index = (index + 1) & mask }
            slots[index] = slot
        }
    }
}
