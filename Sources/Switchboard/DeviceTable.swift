/// Device id -> peer, as an open-addressing table that stores only peer references (8 bytes a
/// slot) and a tag byte a slot: a registered device's id is read from the peer itself. Written by
/// hand because a standard Dictionary keeps a copy of each key beside its value (24 bytes a slot),
/// which at 20,000 idle devices is most of what the registry costs.
///
/// Contract: while a peer is in the table, its `deviceID` is the id it was inserted under (the
/// switchboard keeps it so).
struct DeviceTable<Peer: SwitchboardPeer> {
    /// The peers, nil where `tags` says empty or removed.
    private var peers = [Peer?](repeating: nil, count: 16)
    /// Each slot's state: `empty`, `removed`, or eight bits of its id's hash (never 0 or 1), so a
    /// probe reads one byte a slot and compares ids only where the tags agree (reading and
    /// comparing every peer's id on the way cost about 150 instructions a slot).
    private var tags = [UInt8](repeating: DeviceTable.empty, count: 16)
    private(set) var count = 0
    private var removedCount = 0

    private static var empty: UInt8 { 0 }
    private static var removed: UInt8 { 1 }

    private var mask: Int { peers.count - 1 }

    static var slotSize: Int { MemoryLayout<Peer?>.stride + MemoryLayout<UInt8>.stride }

    subscript(id: String) -> Peer? {
        let hash = DeviceTable.hash(id)
        return slot(hash: hash) { sameBytes($0.deviceID, id) }?.peer
    }

    /// SipHash of the id's UTF-8 bytes, as `hashValue` (with its random seed), without String's
    /// Unicode-aware `hash(into:)` around it: ids are compared as bytes anyway.
    @inline(__always)
    private static func hash(_ id: String) -> Int {
        var id = id
        return id.withUTF8 { utf8 in
            var hasher = Hasher()
            hasher.combine(bytes: UnsafeRawBufferPointer(utf8))
            return hasher.finalize()
        }
    }

    /// The tag of a hash: its top eight bits (the index comes from the low ones), kept clear of
    /// `empty` and `removed`.
    @inline(__always)
    private static func tag(_ hash: Int) -> UInt8 {
        max(2, UInt8(truncatingIfNeeded: hash >> 56))
    }

    /// Walks `hash`'s probe sequence to the first peer with its tag that `matches`; stops at an
    /// empty slot.
    @inline(__always)
    private func slot(hash: Int, where matches: (Peer) -> Bool) -> (index: Int, peer: Peer)? {
        let tag = DeviceTable.tag(hash)
        var index = hash & mask
        while true {
            let found = tags[index]
            if found == DeviceTable.empty { return nil }
            if found == tag, let peer = peers[index], matches(peer) { return (index, peer) }
            index = (index + 1) & mask
        }
    }

    /// Makes `peer` the entry for `id`; returns the peer it replaces, if any.
    mutating func insert(_ peer: Peer, for id: String) -> Peer? {
        if (count + removedCount + 1) * 4 > peers.count * 3 { rehash() }
        let hash = DeviceTable.hash(id)
        let tag = DeviceTable.tag(hash)
        var index = hash & mask
        var reusable: Int?
        while true {
            let found = tags[index]
            if found == DeviceTable.empty {
                let target = reusable ?? index
                if reusable != nil { removedCount -= 1 }
                peers[target] = peer
                tags[target] = tag
                count += 1
                return nil
            }
            if found == DeviceTable.removed {
                if reusable == nil { reusable = index }
            } else if found == tag, let existing = peers[index], sameBytes(existing.deviceID, id) {
                peers[index] = peer
                return existing
            }
            index = (index + 1) & mask
        }
    }

    /// Removes `peer` (found by identity, so its id may already be cleared) if it is the entry
    /// for `id`. Returns whether it was.
    @discardableResult
    mutating func remove(_ peer: Peer, for id: String) -> Bool {
        guard let (index, _) = slot(hash: DeviceTable.hash(id), where: { $0 === peer }) else { return false }
        peers[index] = nil
        tags[index] = DeviceTable.removed
        count -= 1
        removedCount += 1
        return true
    }

    func forEach(_ body: (Peer) -> Void) {
        for case let peer? in peers { body(peer) }
    }

    /// Rebuilds without removed slots, growing so the live entries fill at most half of it.
    private mutating func rehash() {
        var capacity = 16
        while capacity < (count + 1) * 2 { capacity *= 2 }
        let old = peers
        peers = [Peer?](repeating: nil, count: capacity)
        tags = [UInt8](repeating: DeviceTable.empty, count: capacity)
        removedCount = 0
        // Ids are distinct here: each goes to the first empty slot of its sequence, no compares.
        for case let peer? in old {
            guard let id = peer.deviceID else { preconditionFailure("a registered peer has no id") }
            let hash = DeviceTable.hash(id)
            var index = hash & mask
            while tags[index] != DeviceTable.empty { index = (index + 1) & mask }
            peers[index] = peer
            tags[index] = DeviceTable.tag(hash)
        }
    }
}
