/// The last recipient each sender was allowed to message, so a burst to one peer pays for the
/// grant check once instead of two string hashes per message. Direct-mapped by the sender's
/// identity (no hashing of ids), fixed in size, and kept beside the connections rather than in
/// them: an idle connection stays as small as it was.
///
/// It remembers only permissions. Anything that could take one away (a grant replaced or gone,
/// a revocation) calls `invalidate()`, which drops every entry at once. A sender identity is
/// reused only after its connection closed, which forgets its grant and so invalidates too.
public struct RecentPermissions {
    private struct Entry {
        var sender: UInt = 0
        var generation: UInt32 = 0
        var recipient = ""
    }

    private var entries: [Entry]
    private let shift: UInt
    /// Entries from older generations are stale; generation 0 is never current.
    private var generation: UInt32 = 1

    /// A table of 2^`bits` entries.
    public init(bits: Int = 12) {
        precondition((1...20).contains(bits))
        entries = Array(repeating: Entry(), count: 1 << bits)
        shift = UInt(UInt.bitWidth - bits)
    }

    @inline(__always)
    private func slot(_ sender: ObjectIdentifier) -> Int {
        // Fibonacci hashing: allocations are spaced by their size class, so the low bits alone collide.
        Int(truncatingIfNeeded: (UInt(bitPattern: sender) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Whether `sender` was allowed to message `recipient` since the last invalidation.
    @inline(__always)
    public func allows(_ sender: ObjectIdentifier, _ recipient: String) -> Bool {
        let index = slot(sender)
        return entries[index].generation == generation && entries[index].sender == UInt(bitPattern: sender)
            && sameBytes(entries[index].recipient, recipient)
    }

    /// Records that `sender` may message `recipient` (it replaces what the slot held).
    public mutating func remember(_ sender: ObjectIdentifier, _ recipient: String) {
        entries[slot(sender)] = Entry(sender: UInt(bitPattern: sender), generation: generation, recipient: recipient)
    }

    /// Forgets every permission (in O(1): the entries of older generations no longer count).
    public mutating func invalidate() {
        generation &+= 1
        if generation == 0 {
            // After 2^32 invalidations the old generations come round again: clear for real.
            for index in entries.indices { entries[index] = Entry() }
            generation = 1
        }
    }
}
