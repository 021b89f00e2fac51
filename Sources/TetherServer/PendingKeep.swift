/// A keep through the local store waiting for its tick's commit: who hears the answer, and what
/// the answer names.
struct PendingKeep {
    /// Nil when nobody is to hear it (the sender's own connection failed to deliver it).
    let sender: Connection?
    let recipient: String
    let idJSON: [UInt8]?
}
