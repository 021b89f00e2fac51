/// How much may be kept: per recipient (messages and bytes) and in all, so that no sender can
/// fill the server. Bytes are the messages' payload bytes.
public struct KeptLimits: Sendable, Equatable {
    public var messagesPerRecipient: Int
    public var bytesPerRecipient: Int
    public var totalBytes: Int

    public init(messagesPerRecipient: Int = 100, bytesPerRecipient: Int = 256 * 1024, totalBytes: Int = 64 << 20) {
        self.messagesPerRecipient = messagesPerRecipient
        self.bytesPerRecipient = bytesPerRecipient
        self.totalBytes = totalBytes
    }
}

/// Why a message was not kept.
public enum KeptRefusal: String, Sendable, CaseIterable {
    /// The recipient already has `messagesPerRecipient` kept.
    case recipientMessages = "recipient_messages"
    /// It would take the recipient past `bytesPerRecipient`.
    case recipientBytes = "recipient_bytes"
    /// It would take the server past `totalBytes`.
    case totalBytes = "total_bytes"
    /// The store could not make it durable (a disk error): nothing was promised.
    case storeFailed = "store_failed"
}

/// What became of a message offered for keeping.
public enum KeepOutcome: Equatable, Sendable {
    /// Kept, and durable as the store promises (committed to disk, for the SQLite store).
    case kept
    case refused(KeptRefusal)
}

/// A count of kept messages and their bytes.
public struct KeptAmount: Equatable, Sendable {
    public var messages: Int
    public var bytes: Int

    public init(messages: Int = 0, bytes: Int = 0) {
        self.messages = messages
        self.bytes = bytes
    }
}
