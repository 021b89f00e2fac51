import StringBytes

/// Device id -> peer, as an open-addressing table that stores only peer references (8 bytes a
/// slot): a registered device's id is read from the peer itself. Written by hand because a
/// standard Dictionary keeps a copy of each key beside its value (24 bytes a slot), which at
/// 20,000 idle devices is most of what the registry costs.
///
/// Contract: while a peer is in the table, its `deviceID` is the id it was inserted under (the
/// switchboard keeps it so).
struct DeviceTable<Peer: SwitchboardPeer> {
    private enum Slot {
        case empty
        case removed
        case peer(Peer)
    }

    private var slots = [Slot](repeating: .empty, count: 16)
    private(set) var count = 0
    private var removedCount = 0

    private var mask: Int { slots.count - 1 }

    static var slotSize: Int { MemoryLayout<Slot>.stride }

    subscript(id: String) -> Peer? {
        slot(for: id) { sameBytes($0.deviceID, id) }?.peer
    }

    /// SipHash of the id's UTF-8 bytes under the process's random key, without String's
    /// Unicode-aware `hash(into:)` around it: ids are compared as bytes anyway.
    @inline(__always)
    private func hash(_ id: String) -> Int {
        id.withBytes { IDHasher.shared.hash(UnsafeRawBufferPointer($0)) }
    }

    /// Walks `id`'s probe sequence to the first peer that `matches`; stops at an empty slot.
    @inline(__always)
    private func slot(for id: String, where matches: (Peer) -> Bool) -> (index: Int, peer: Peer)? {
        var index = hash(id) & mask
        while true {
            switch slots[index] {
            case .empty:
                return nil
            case .removed:
                break
            case .peer(let peer):
                if matches(peer) { return (index, peer) }
            }
            index = (index + 1) & mask
        }
    }

    /// Makes `peer` the entry for `id`; returns the peer it replaces, if any.
    mutating func insert(_ peer: Peer, for id: String) -> Peer? {
        if (count + removedCount + 1) * 4 > slots.count * 3 { rehash() }
        var index = hash(id) & mask
        var reusable: Int?
        while true {
            switch slots[index] {
            case .empty:
                let target = reusable ?? index
                if reusable != nil { removedCount -= 1 }
                slots[target] = .peer(peer)
                count += 1
                return nil
            case .removed:
                if reusable == nil { reusable = index }
            case .peer(let existing):
                if sameBytes(existing.deviceID, id) {
                    slots[index] = .peer(peer)
                    return existing
                }
            }
            index = (index + 1) & mask
        }
    }

    /// Removes `peer` (found by identity, so its id may already be cleared) if it is the entry
    /// for `id`. Returns whether it was.
    @discardableResult
    mutating func remove(_ peer: Peer, for id: String) -> Bool {
        guard let (index, _) = slot(for: id, where: { $0 === peer }) else { return false }
        slots[index] = .removed
        count -= 1
        removedCount += 1
        return true
    }

    func forEach(_ body: (Peer) -> Void) {
        for case .peer(let peer) in slots { body(peer) }
    }

    /// Rebuilds without removed slots, growing so the live entries fill at most half of it.
    private mutating func rehash() {
        var capacity = 16
        while capacity < (count + 1) * 2 { capacity *= 2 }
        let old = slots
        slots = [Slot](repeating: .empty, count: capacity)
        count = 0
        removedCount = 0
        for case .peer(let peer) in old {
            guard let id = peer.deviceID else { preconditionFailure("a registered peer has no id") }
            _ = insert(peer, for: id)
        }
    }
}

