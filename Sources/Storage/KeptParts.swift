/// A message to keep, as bytes where they already are (the sender's frame, the envelope's
/// fields): a store copies them in, so a new message costs no `KeptMessage` on its way.
/// The pointers are good only during the call they are passed to.
public struct KeptParts {
    public var payload: UnsafeRawBufferPointer
    /// The sender's device id.
    public var sender: UnsafeRawBufferPointer
    /// The raw JSON of the message's `id`, when it has one.
    public var id: UnsafeRawBufferPointer?
    public var expiry: Int64
    /// The order of keeping; 0 until the store numbers it.
    public var sequence: Int64
    /// Where the sender's id and the `id` are in the payload, when the caller knows (the
    /// envelope's scan does): then nobody searches for them.
    public var senderAt: Int?
    public var idAt: Int?

    public init(payload: UnsafeRawBufferPointer, sender: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer?, expiry: Int64,
                sequence: Int64 = 0, senderAt: Int? = nil, idAt: Int? = nil) {
        self.payload = payload
        self.senderAt = senderAt
        self.idAt = idAt
        self.sender = sender
        self.id = id
        self.expiry = expiry
        self.sequence = sequence
    }

    /// The parts of `message` (good while it lives).
    init(_ message: KeptMessage) {
        let (payload, sender, id) = message.parts
        self.init(payload: payload, sender: sender, id: id, expiry: message.expiry, sequence: message.sequence)
    }
}
