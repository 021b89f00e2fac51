/// The kept-message store of a single process: every message in memory (delivery never reads the
/// disk), and with a journal also on disk, one transaction per loop tick (group commit) before
/// any of that tick's keeps is reported. Without a journal (`--offline-store memory`) a restart
/// loses what is kept.
public final class LocalKeptStore: KeptMessageStore {
    private var queues: KeptQueues
    private let journal: KeptJournal?
    /// Keeps of this tick waiting for the commit to be reported.
    private var reportAfterCommit: [(message: KeptMessage, recipient: String, promised: Bool, done: (KeepOutcome) -> Void)] = []
    /// This tick's `keepNew`s, undone if the commit fails (with a journal only: memory cannot fail).
    private var newThisTick: [(recipient: String, sequence: Int64)] = []
    /// Whether the last commit made its tick's `keepNew`s durable; false: they are refused (`storeFailed`).
    public private(set) var lastCommitSucceeded = true
    public var onExpired: ((String, KeptMessage) -> Void)?
    /// Told when a commit fails (the server logs it).
    public var onCommitFailure: ((StorageError) -> Void)?

    /// A store in memory only.
    public init(limits: KeptLimits) {
        queues = KeptQueues(limits: limits)
        journal = nil
    }

    /// A store backed by `journal`: what it holds is loaded now (messages expired by `now` are dropped).
    public init(limits: KeptLimits, journal: KeptJournal, now: Int64) throws(StorageError) {
        queues = KeptQueues(limits: limits)
        self.journal = journal
        for (recipient, message) in try journal.load() {
            if message.expiry > now {
                _ = queues.admit(message, for: recipient, force: true)
            } else {
                journal.remove(message)
            }
        }
        queues.numberFrom(journal.unusedSequence)
        try journal.commit()
    }

    public var survivesRestart: Bool { journal != nil }

    public func keep(_ message: KeptMessage, for recipient: String, force: Bool, done: @escaping (KeepOutcome) -> Void) {
        if let refusal = queues.admit(message, for: recipient, force: force) { return done(.refused(refusal)) }
        journal?.add(message, for: recipient, promised: force)
        reportAfterCommit.append((message, recipient, force, done))
    }

    /// Keeps a new message given as its parts, like `keep` without a callback: a refusal is
    /// returned at once; nil means it waits for the tick's commit, which settles every such keep
    /// of the tick alike (`lastCommitSucceeded`). The caller answers them then, no closure or
    /// message object per keep.
    public func keepNew(_ parts: KeptParts, for recipient: String) -> KeptRefusal? {
        var parts = parts
        if let refusal = queues.admit(&parts, for: recipient) { return refusal }
        if let journal {
            journal.addNew(parts, for: recipient)
            newThisTick.append((recipient, parts.sequence))
        }
        return nil
    }

    public func mayHold(_ recipient: String) -> Bool { queues.mayHold(recipient) }

    public func take(for recipient: String, now: Int64, done: @escaping ([KeptMessage]) -> Void) {
        let (taken, expired) = queues.take(for: recipient, now: now)
        for message in taken { journal?.remove(message) }
        for message in expired {
            journal?.remove(message)
            onExpired?(recipient, message)
        }
        done(taken)
    }

    public func expire(now: Int64) {
        guard let next = queues.nextExpiry, next <= now else { return }
        queues.expire(now: now) { recipient, message in
            journal?.remove(message)
            onExpired?(recipient, message)
        }
    }

    public func drop(from sender: String, to recipient: String) {
        for message in queues.remove(for: recipient, where: { $0.sender == sender }) { journal?.remove(message) }
    }

    public func commit() {
        lastCommitSucceeded = true
        if let journal {
            do {
                try journal.commit()
                newThisTick.removeAll(keepingCapacity: true)
            } catch {
                lastCommitSucceeded = false
                onCommitFailure?(error)
                // Nothing of this tick is on disk: its new keeps are refused (the senders hear
                // status 5) rather than promised; messages already promised stay, and they and the
                // removals are written by the next commit.
                let failed = reportAfterCommit.filter { !$0.promised }
                reportAfterCommit.removeAll { !$0.promised }
                for entry in failed {
                    _ = queues.remove(for: entry.recipient) { $0.sequence == entry.message.sequence }   // the store holds a copy
                    entry.done(.refused(.storeFailed))
                }
                for entry in newThisTick { _ = queues.remove(for: entry.recipient) { $0.sequence == entry.sequence } }
                newThisTick.removeAll(keepingCapacity: true)
                return
            }
        }
        guard !reportAfterCommit.isEmpty else { return }
        let kept = reportAfterCommit
        reportAfterCommit.removeAll(keepingCapacity: true)
        for entry in kept { entry.done(.kept) }
    }

    public func holding(for recipient: String) -> KeptAmount { queues.holding(for: recipient) }
    public var total: KeptAmount { queues.total }

    public func close() {
        commit()
        journal?.close()
    }
}
