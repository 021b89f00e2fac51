/// Kept messages in memory, by recipient, with their rules: the bounds, the order of keeping and
/// expiry. Plain state with no clock of its own (callers pass wall-clock milliseconds): the
/// memory and SQLite stores wrap it.
///
/// Each recipient's messages are packed records in one chain of blocks (`KeptRecord`,
/// `KeptBlocks`): a kept message costs its bytes, a header of about 11 bytes and a block link or
/// two, not an object. A message comes out as a `KeptMessage` again when it is
/// taken, expires or is removed.
///
/// Expiry uses one ordered structure with an entry per recipient (at its earliest expiry), not a
/// timer or an entry per message; a due recipient's chain (at most `messagesPerRecipient` records)
/// is rewritten once without the due ones.
public struct KeptQueues: ~Copyable {
    public let limits: KeptLimits
    private var chains: [String: KeptChain] = [:]
    private var blocks = KeptBlocks()
    private var expiries = ExpiryHeap<String>()
    public private(set) var total = KeptAmount()
    /// The order of keeping across all recipients (a message's `sequence`).
    private var nextSequence: Int64 = 1
    /// A new record's extras, reused.
    private var extras: [UInt8] = []
    /// Records hold their expiry after this (the first one kept), in fewer bytes than the time itself.
    private var expiryBase: Int64?

    public init(limits: KeptLimits) {
        self.limits = limits
    }

    /// Keeps `message` for `recipient` after the ones kept before it, unless a bound would be
    /// passed (then nothing changes). `force` skips the bounds: for a message already promised
    /// that comes back (its delivery failed, or it is loaded at start). A new message is numbered
    /// in the order of keeping; one that comes back keeps its number and so its place. The
    /// store keeps a copy: `message` may be let go.
    public mutating func admit(_ message: KeptMessage, for recipient: String, force: Bool = false) -> KeptRefusal? {
        var parts = KeptParts(message)
        let refusal = admit(&parts, for: recipient, force: force)
        if refusal == nil { message.sequence = parts.sequence }
        return refusal
    }

    /// The same for a message given as its parts; a new one is numbered in `parts.sequence`.
    public mutating func admit(_ parts: inout KeptParts, for recipient: String, force: Bool = false) -> KeptRefusal? {
        if parts.sequence != 0 { return admitAgain(&parts, for: recipient, force: force) }
        // A new message goes last: its chain is reached once, made in place for a new recipient
        // (one hash, not a lookup and an insert), and let go again if the message is refused.
        let (refusal, isNewChain, due) = Self.append(&parts, to: &chains[recipient, default: KeptChain()], force: force,
                                                     limits: limits, total: &total, nextSequence: &nextSequence,
                                                     expiryBase: &expiryBase, blocks: &blocks, extras: &extras)
        if let refusal {
            if isNewChain { chains[recipient] = nil }
            return refusal
        }
        if due { expiries.push(recipient, at: parts.expiry) }
        return nil
    }

    /// Checks the bounds, numbers and writes a new message at the end of `chain`. Static, so that
    /// the chain (inside `chains`) and the other fields are separate accesses.
    private static func append(_ parts: inout KeptParts, to chain: inout KeptChain, force: Bool, limits: KeptLimits,
                               total: inout KeptAmount, nextSequence: inout Int64, expiryBase: inout Int64?,
                               blocks: inout KeptBlocks, extras: inout [UInt8]) -> (KeptRefusal?, isNewChain: Bool, due: Bool) {
        let isNewChain = chain.count == 0
        let size = parts.payload.count
        if !force, let refusal = refusal(holding: Int(chain.count), chain.bytes, adding: size, limits: limits, total: total) {
            return (refusal, isNewChain, false)
        }
        if expiryBase == nil { expiryBase = parts.expiry }
        parts.sequence = nextSequence
        nextSequence += 1
        writeAtEnd(parts, of: &chain, blocks: &blocks, extras: &extras, expiryBase: expiryBase!)
        // An earlier expiry than the chain's: the caller files it in the expiry heap.
        return (nil, isNewChain, counted(parts, in: &chain, total: &total))
    }

    /// Writes `parts` after the chain's last message.
    private static func writeAtEnd(_ parts: KeptParts, of chain: inout KeptChain, blocks: inout KeptBlocks,
                                   extras: inout [UInt8], expiryBase: Int64) {
        write(parts, to: &chain, blocks: &blocks, extras: &extras, expiryBase: expiryBase)
        chain.last = parts.sequence
        chain.count += 1
        chain.bytes += parts.payload.count
    }

    /// Counts a written message in the totals; true when its expiry is earlier than the chain's.
    private static func counted(_ parts: KeptParts, in chain: inout KeptChain, total: inout KeptAmount) -> Bool {
        total.messages += 1
        total.bytes += parts.payload.count
        let due = parts.expiry < chain.scheduled
        if due { chain.scheduled = parts.expiry }
        return due
    }

    /// The bound a message of `size` bytes would pass, for a recipient holding `count` messages
    /// of `bytes`; nil when it fits.
    private static func refusal(holding count: Int, _ bytes: Int, adding size: Int, limits: KeptLimits,
                                total: KeptAmount) -> KeptRefusal? {
        if count >= limits.messagesPerRecipient { return .recipientMessages }
        if bytes + size > limits.bytesPerRecipient { return .recipientBytes }
        if total.bytes + size > limits.totalBytes { return .totalBytes }
        return nil
    }

    /// A message already numbered (promised, coming back or loaded): kept in its place by number.
    private mutating func admitAgain(_ parts: inout KeptParts, for recipient: String, force: Bool) -> KeptRefusal? {
        let found = chains.index(forKey: recipient)
        let size = parts.payload.count
        if !force {
            let held = found.map { chains.values[$0] }
            if let refusal = Self.refusal(holding: Int(held?.count ?? 0), held?.bytes ?? 0, adding: size, limits: limits, total: total) {
                return refusal
            }
        }
        if expiryBase == nil { expiryBase = parts.expiry }
        nextSequence = max(nextSequence, parts.sequence + 1)
        var chain = found.map { chains.values[$0] } ?? KeptChain()
        if chain.count > 0, chain.last > parts.sequence {
            _ = rewrite(&chain, inserting: parts) { _, _, _ in false }
        } else {
            Self.writeAtEnd(parts, of: &chain, blocks: &blocks, extras: &extras, expiryBase: expiryBase!)
        }
        let due = Self.counted(parts, in: &chain, total: &total)
        if let found { chains.values[found] = chain } else { chains[recipient] = chain }
        if due { expiries.push(recipient, at: parts.expiry) }
        return nil
    }

    /// New messages are numbered from `sequence` on at least (numbers a journal has used stay theirs).
    public mutating func numberFrom(_ sequence: Int64) {
        nextSequence = max(nextSequence, sequence)
    }

    /// False only when nothing is kept for `recipient`.
    public func mayHold(_ recipient: String) -> Bool { chains[recipient] != nil }

    public func holding(for recipient: String) -> KeptAmount {
        guard let chain = chains[recipient] else { return KeptAmount() }
        return KeptAmount(messages: Int(chain.count), bytes: chain.bytes)
    }

    /// Removes everything kept for `recipient`: the messages still within their ttl at `now`, in
    /// the order kept, and apart those whose ttl has run out.
    public mutating func take(for recipient: String, now: Int64) -> (taken: [KeptMessage], expired: [KeptMessage]) {
        guard let chain = chains.removeValue(forKey: recipient) else { return ([], []) }
        total.messages -= Int(chain.count)
        total.bytes -= chain.bytes
        var taken: [KeptMessage] = []
        var expired: [KeptMessage] = []
        taken.reserveCapacity(Int(chain.count))
        var cursor = KeptCursor(chain)
        for _ in 0..<chain.count {
            let record = header(at: &cursor)
            let message = self.message(record, at: &cursor)
            if record.expiry > now { taken.append(message) } else { expired.append(message) }
        }
        blocks.release(chain)
        return (taken, expired)
    }

    /// Removes every message whose ttl has run out at `now`, showing each to `visit` with its recipient.
    public mutating func expire(now: Int64, _ visit: (String, KeptMessage) -> Void) {
        while let (time, recipient) = expiries.popDue(now: now) {
            guard let found = chains.index(forKey: recipient), chains.values[found].scheduled == time else { continue }   // stale entry
            chains.values[found].scheduled = .max
            var due: [KeptMessage] = []
            remove(at: found, recipient) { record, queues, cursor in
                guard record.expiry <= now else { return false }
                due.append(queues.message(record, at: &cursor))
                return true
            }
            for message in due { visit(recipient, message) }
        }
    }

    /// Removes the messages kept for `recipient` that `matches` picks (an unpair); returns them.
    public mutating func remove(for recipient: String, where matches: (KeptMessage) -> Bool) -> [KeptMessage] {
        guard let found = chains.index(forKey: recipient) else { return [] }
        var picked: [KeptMessage] = []
        remove(at: found, recipient) { record, queues, cursor in
            let message = queues.message(record, at: &cursor)
            guard matches(message) else { return false }
            picked.append(message)
            return true
        }
        return picked
    }

    /// The earliest expiry of anything kept (stale entries included: a time to look, not a promise).
    public var nextExpiry: Int64? { expiries.earliest }

    /// Blocks in use, for tests: what take and expiry let go must come back.
    var blocksInUse: Int { blocks.inUse }

    // MARK: Records

    /// Rewrites the chain at `found` without the records `drops` picks, then files it again (or
    /// lets it go when empty). `drops` sees each record with the cursor at its region; it may
    /// read the region (the cursor is moved past it either way).
    private mutating func remove(at found: Dictionary<String, KeptChain>.Index, _ recipient: String,
                                 dropping drops: (KeptRecord, borrowing KeptQueues, inout KeptCursor) -> Bool) {
        var chain = chains.values[found]
        let before = (messages: Int(chain.count), bytes: chain.bytes)
        let earliest = rewrite(&chain, inserting: nil, dropping: drops)
        total.messages -= before.messages - Int(chain.count)
        total.bytes -= before.bytes - chain.bytes
        if chain.count == 0 {
            chains.remove(at: found)
            return
        }
        if earliest < chain.scheduled {
            chain.scheduled = earliest
            expiries.push(recipient, at: earliest)
        }
        chains.values[found] = chain
    }

    /// Copies `chain` into fresh blocks, leaving out what `drops` picks and putting `message`
    /// before the first record numbered after it; counts, bytes and `last` follow. Returns the
    /// earliest expiry left.
    private mutating func rewrite(_ chain: inout KeptChain, inserting message: KeptParts?,
                                  dropping drops: (KeptRecord, borrowing KeptQueues, inout KeptCursor) -> Bool) -> Int64 {
        var fresh = KeptChain()
        fresh.scheduled = chain.scheduled
        var pending = message
        var earliest = Int64.max
        var cursor = KeptCursor(chain)
        for _ in 0..<chain.count {
            let record = header(at: &cursor)
            if let inserted = pending, inserted.sequence < record.sequence {
                Self.write(inserted, to: &fresh, blocks: &blocks, extras: &extras, expiryBase: expiryBase!)
                note(inserted.sequence, inserted.expiry, inserted.payload.count, in: &fresh, earliest: &earliest)
                pending = nil
            }
            var region = cursor
            if drops(record, self, &region) {
                blocks.skip(record.regionCount, at: &cursor)
                continue
            }
            withUnsafeTemporaryAllocation(byteCount: KeptRecord.maxHeaderBytes, alignment: 1) { buffer in
                let length = record.encodeHeader(at: buffer.baseAddress!, expiryBase: expiryBase!)
                blocks.append(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), to: &fresh, recordLeft: length + record.regionCount)
            }
            blocks.append(record.regionCount, from: &cursor, to: &fresh)
            note(record.sequence, record.expiry, record.payloadCount, in: &fresh, earliest: &earliest)
        }
        if let pending {
            Self.write(pending, to: &fresh, blocks: &blocks, extras: &extras, expiryBase: expiryBase!)
            note(pending.sequence, pending.expiry, pending.payload.count, in: &fresh, earliest: &earliest)
        }
        blocks.release(chain)
        chain = fresh
        return earliest
    }

    private func note(_ sequence: Int64, _ expiry: Int64, _ size: Int, in chain: inout KeptChain, earliest: inout Int64) {
        chain.count += 1
        chain.bytes += size
        chain.last = sequence
        earliest = min(earliest, expiry)
    }

    /// Appends the record of `parts` to `chain` (counts are the caller's).
    private static func write(_ parts: KeptParts, to chain: inout KeptChain, blocks: inout KeptBlocks, extras: inout [UInt8],
                              expiryBase: Int64) {
        let record = KeptRecord(parts, extras: &extras)
        withUnsafeTemporaryAllocation(byteCount: KeptRecord.maxHeaderBytes, alignment: 1) { buffer in
            let length = record.encodeHeader(at: buffer.baseAddress!, expiryBase: expiryBase)
            blocks.append(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), to: &chain, recordLeft: length + record.regionCount)
        }
        blocks.append(parts.payload, to: &chain, recordLeft: record.regionCount)
        if !extras.isEmpty { extras.withUnsafeBytes { blocks.append($0, to: &chain, recordLeft: $0.count) } }
    }

    private func header(at cursor: inout KeptCursor) -> KeptRecord {
        KeptRecord(expiryBase: expiryBase!) { blocks.readByte(at: &cursor) }
    }

    /// The message of `record`, whose region is at `cursor` (moved past it).
    func message(_ record: KeptRecord, at cursor: inout KeptCursor) -> KeptMessage {
        withUnsafeTemporaryAllocation(byteCount: record.regionCount, alignment: 1) { region in
            blocks.read(at: &cursor, into: region)
            return KeptMessage.make(record, region: UnsafeRawBufferPointer(region))
        }
    }
}
