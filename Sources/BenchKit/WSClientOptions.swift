import TLS

/// How a bench client speaks beyond plain ws://: TLS (`--tls`) and permessage-deflate (`--deflate`).
/// The default (both off) leaves the plain path exactly as it was.
public struct WSClientOptions {
    /// wss://: every client runs a full TLS 1.3 handshake from this context before its upgrade.
    public var tls: TLSClientContext?
    /// Offer permessage-deflate; compress outgoing text, inflate incoming compressed messages.
    public var deflate = false

    public init(tls: TLSClientContext? = nil, deflate: Bool = false) {
        self.tls = tls
        self.deflate = deflate
    }

    /// With a fresh client TLS context when `tls`.
    public init(tls: Bool, deflate: Bool) throws(TLSContextError) {
        self.init(tls: tls ? try TLSClientContext() : nil, deflate: deflate)
    }
}
