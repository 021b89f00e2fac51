/// What `TLSSession.feed` found in the ciphertext it was given.
public enum TLSEvent {
    /// The handshake is complete: from now on `write` may be called.
    case handshakeCompleted
    /// Decrypted bytes, in the buffer given to `feed`; valid only during the callback, and
    /// mutable so the WebSocket decoder can unmask them in place.
    case plaintext(UnsafeMutableRawBufferPointer)
    /// The peer sent close_notify: nothing more will arrive. Answer with `close()`, drain, close the socket.
    case peerClosed
    /// The session failed and reads nothing more. Drain (an alert may be queued) and close the socket;
    /// for `.plainHTTP` write `PlainHTTPRefusal.response` instead.
    case failure(TLSError)
}

/// Why a TLS session stopped.
public enum TLSError: Error, Equatable, Sendable {
    /// The first bytes were an HTTP request: the client spoke plain HTTP to the TLS port.
    case plainHTTP
    /// The handshake failed (old protocol version, no shared cipher, not TLS at all); OpenSSL's reason.
    case handshakeFailed(reason: String)
    /// A record after the handshake was bad (forged, truncated, unexpected); OpenSSL's reason.
    case protocolError(reason: String)
    /// `write` before the handshake completed, or after close or failure.
    case notOpen
}
