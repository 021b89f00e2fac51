import Switchboard

/// This tick's keeps through the local store, answered once its commit is done. Each status 8 is
/// written when its message is kept, into one buffer reused every tick: a keep costs no
/// allocation or object here.
struct PendingKeeps {
    private struct Entry {
        /// Nil when nobody is to hear it (the sender's own connection failed to deliver it).
        let sender: Connection?
        let at: Int
        let count: Int
        let recipientCount: Int
        /// -1: the message has no id.
        let idCount: Int
    }

    private var entries: [Entry] = []
    private var replies: [UInt8] = []

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// A message to `recipient` with `id` (raw JSON) was kept for `sender`, pending the commit.
    mutating func append(sender: Connection?, recipient: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer?) {
        let count = KeptReply.count(.queued, recipientCount: recipient.count, idCount: id?.count)
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
            KeptReply.write(.queued, recipient: recipient, id: id, into: buffer.baseAddress!)
            replies.append(contentsOf: UnsafeRawBufferPointer(buffer))
        }
        entries.append(Entry(sender: sender, at: replies.count - count, count: count, recipientCount: recipient.count,
                             idCount: id?.count ?? -1))
    }

    /// Shows each keep to `body` in order (its sender, its status 8, and the recipient and id
    /// that reply names, for another answer), then forgets them all.
    mutating func drain(_ body: (Connection?, _ reply: UnsafeRawBufferPointer, _ recipient: UnsafeRawBufferPointer,
                                 _ id: UnsafeRawBufferPointer?) -> Void) {
        replies.withUnsafeBytes { all in
            let recipientOffset = KeptReply.recipientOffset(.queued)
            for entry in entries {
                let reply = UnsafeRawBufferPointer(rebasing: all[entry.at..<entry.at + entry.count])
                let recipient = UnsafeRawBufferPointer(rebasing: reply[recipientOffset..<recipientOffset + entry.recipientCount])
                let id = entry.idCount < 0 ? nil : UnsafeRawBufferPointer(rebasing: reply[(reply.count - 1 - entry.idCount)..<(reply.count - 1)])
                body(entry.sender, reply, recipient, id)
            }
        }
        entries.removeAll(keepingCapacity: true)
        replies.removeAll(keepingCapacity: true)
    }
}
