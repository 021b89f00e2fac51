/// The kept-message store of a single process: every message in memory (delivery never reads the
/// disk), and with a journal also on disk, one transaction per loop tick (group commit) before
/// any of that tick's keeps is reported. Without a journal (`--offline-store memory`) a restart
/// loses what is kept.
public final class LocalKeptStore: KeptMessageStore {
    private var queues: KeptQueues
    private let journal: KeptJournal?
    /// Keeps of this tick waiting for the commit to be reported.
    private var reportAfterCommit: [(message: KeptMessage, recipient: String, promised: Bool, done: (KeepOutcome) -> Void)] = []
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
        if let journal {
            do {
                try journal.commit()
            } catch {
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
