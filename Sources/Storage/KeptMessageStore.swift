/// Where messages for offline devices wait for them: in this process (memory, SQLite) or, in a
/// cluster, in Redis. Shaped for a store that answers later: a keep is reported once it is
/// durable (a local store reports at `commit()`, the end of the loop's tick), and taken messages
/// are handed to a callback; the server never assumes either happens at once.
///
/// All calls happen on the server's loop.
public protocol KeptMessageStore: AnyObject {
    /// Keeps `message` for `recipient` after those kept before it, unless a bound would be passed.
    /// `done` is called exactly once: `.kept` only when the message is as safe as the store
    /// promises, else the refusal. `force` skips the bounds (a promised message coming back).
    func keep(_ message: KeptMessage, for recipient: String, force: Bool, done: @escaping (KeepOutcome) -> Void)

    /// False only when surely nothing is kept for `recipient` (a connect then costs no take).
    func mayHold(_ recipient: String) -> Bool

    /// Takes everything kept for `recipient` that is still within its ttl at `now` (wall clock,
    /// milliseconds), in the order kept; a message is taken at most once. `done` may run later.
    func take(for recipient: String, now: Int64, done: @escaping ([KeptMessage]) -> Void)

    /// Removes what has expired by `now` (each goes to `onExpired`).
    func expire(now: Int64)

    /// Called for each message removed because its ttl ran out, with its recipient.
    var onExpired: ((String, KeptMessage) -> Void)? { get set }

    /// Drops what `sender` kept for `recipient` (an unpair).
    func drop(from sender: String, to recipient: String)

    /// End of the loop's tick: makes the tick's keeps and removals durable, then reports the keeps.
    func commit()

    /// What is kept for `recipient`, and in all.
    func holding(for recipient: String) -> KeptAmount
    /// Makes `holding(for:)` current for `recipient` (a store elsewhere asks it; a local one knows).
    func refreshHolding(for recipient: String, _ done: @escaping () -> Void)
    var total: KeptAmount { get }

    /// Whether a restart keeps what is kept (said at start when it does not).
    var survivesRestart: Bool { get }

    /// Commits what is left and lets go of files.
    func close()
}

extension KeptMessageStore {
    public func refreshHolding(for recipient: String, _ done: @escaping () -> Void) { done() }
}
