/// The disk copy behind a `LocalKeptStore`: additions and removals gathered during a tick and
/// written in one transaction by `commit()`.
public protocol KeptJournal: AnyObject {
    /// Everything on disk, in the order kept, with each message's recipient.
    func load() throws(StorageError) -> [(String, KeptMessage)]
    /// Numbers from this one on were never written (after `load`): new messages must not reuse
    /// one, or a removal mark of an earlier message could hide them.
    var unusedSequence: Int64 { get }
    /// Records `message` (numbered by the store) for the next commit.
    /// `promised`: its status 8 was sent before (it comes back after a failed delivery), so a
    /// failed commit keeps it for the next one instead of forgetting it.
    func add(_ message: KeptMessage, for recipient: String, promised: Bool)
    /// Records a new message (numbered by the store, never promised) given as its parts, for the
    /// next commit; the journal copies what it needs now.
    func addNew(_ parts: KeptParts, for recipient: String)
    /// Records that `message` is gone, for the next commit.
    func remove(_ message: KeptMessage)
    /// Writes what was recorded since the last commit, in the order recorded, in one transaction.
    /// On failure nothing of it is written: new additions are forgotten (the store refuses them),
    /// promised ones and removals are kept for the next commit.
    func commit() throws(StorageError)
    func close()
}

extension KeptJournal {
    public func addNew(_ parts: KeptParts, for recipient: String) {
        let message = KeptMessage.make(payload: parts.payload, sender: parts.sender, id: parts.id, expiry: parts.expiry)
        message.sequence = parts.sequence
        add(message, for: recipient, promised: false)
    }
}
