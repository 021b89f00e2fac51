import CSSL

/// The server end of one TLS connection, with no socket: ciphertext in, plaintext events out,
/// plaintext in, ciphertext to send out. OpenSSL reads from and writes to two memory BIOs.
///
/// After every `feed`, `write` or `close`, drain the pending ciphertext to the socket.
public final class TLSSession {
    private let ssl: OpaquePointer
    private let input: OpaquePointer    // ciphertext from the peer, owned by `ssl`
    private let output: OpaquePointer   // ciphertext for the peer, owned by `ssl`
    private var state = State.fresh

    private enum State {
        case fresh         // nothing received yet
        case handshaking
        case open
        case peerClosed    // close_notify received; we may still send ours
        case closed        // close() called
        case failed
    }

    /// Starts from the context's current certificate; a later reload does not affect this session.
    public convenience init(context: TLSContext) {
        self.init(SSL_new(context.current), server: true)
    }

    /// The client end (load generation, tests): `start()` queues the ClientHello; the rest is
    /// the same record path as the server's.
    public convenience init(client context: TLSClientContext) {
        self.init(SSL_new(context.context), server: false)
    }

    private init(_ made: OpaquePointer?, server: Bool) {
        guard let ssl = made else { fatalError("SSL_new: out of memory") }
        self.ssl = ssl
        input = MemoryBIO.make()
        output = MemoryBIO.make()
        SSL_set_bio(ssl, input, output)
        if server {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            state = .handshaking   // a client's first bytes come from the server: no plain-HTTP check
        }
    }

    /// A client's ClientHello, queued (drain it to the socket); false when OpenSSL could not make one.
    public func start() -> Bool {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        guard result == 1 || SSL_get_error(ssl, result) == SSL_ERROR_WANT_READ else {
            state = .failed
            ERR_clear_error()
            return false
        }
        return true
    }

    deinit { SSL_free(ssl) }   // frees both BIOs

    public var handshakeDone: Bool {
        switch state {
        case .open, .peerClosed, .closed: true
        case .fresh, .handshaking, .failed: false
        }
    }

    /// The protocol chosen by ALPN ("http/1.1"), or nil when the client offered none we speak.
    public var negotiatedProtocol: String? {
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        guard let name, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3" or "TLSv1.2".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    // MARK: Reading

    /// Takes ciphertext from the socket and reports what it held. Plaintext is decrypted into
    /// `plaintextBuffer`, which may be the very buffer `ciphertext` points into (the ciphertext is
    /// copied into OpenSSL first). Any size works; 16 KiB holds a whole TLS record. `handle` may
    /// call `write`, `close` and `drainCiphertext`, but not `feed`.
    public func feed(_ ciphertext: UnsafeRawBufferPointer, plaintextBuffer: UnsafeMutableRawBufferPointer,
                     _ handle: (TLSEvent) -> Void) {
        precondition(!plaintextBuffer.isEmpty && ciphertext.count <= Int(Int32.max), "a plaintext buffer, and reads under 2 GiB")
        guard !ciphertext.isEmpty else { return }
        switch state {
        case .fresh:
            if FirstBytes.lookLikePlainHTTP(ciphertext) { return fail(.plainHTTP, handle) }
            state = .handshaking
        case .handshaking, .open:
            break
        case .peerClosed, .closed, .failed:
            return
        }
        ERR_clear_error()
        defer { MemoryBIO.trimIfEmpty(input) }
        guard BIO_write(input, ciphertext.baseAddress, Int32(ciphertext.count)) == Int32(ciphertext.count) else {
            return fail(.protocolError(reason: takeOpenSSLErrors(or: "out of memory")), handle)
        }
        if state == .handshaking {
            guard handshake(handle) else { return }
        }
        readPlaintext(into: plaintextBuffer, handle)
    }

    /// True when the handshake completed in this call.
    private func handshake(_ handle: (TLSEvent) -> Void) -> Bool {
        let result = SSL_do_handshake(ssl)
        guard result == 1 else {
            if SSL_get_error(ssl, result) != SSL_ERROR_WANT_READ {
                fail(.handshakeFailed(reason: takeOpenSSLErrors(or: "handshake failed")), handle)
            }
            return false
        }
        state = .open
        handle(.handshakeCompleted)
        return state == .open
    }

    private func readPlaintext(into buffer: UnsafeMutableRawBufferPointer, _ handle: (TLSEvent) -> Void) {
        while state == .open {
            var count = 0
            if SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count) == 1 {
                handle(.plaintext(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])))
                continue
            }
            switch SSL_get_error(ssl, 0) {
            case SSL_ERROR_WANT_READ:
                return
            case SSL_ERROR_ZERO_RETURN:
                state = .peerClosed
                handle(.peerClosed)
            default:
                fail(.protocolError(reason: takeOpenSSLErrors(or: "bad record")), handle)
            }
        }
    }

    private func fail(_ error: TLSError, _ handle: (TLSEvent) -> Void) {
        state = .failed
        handle(.failure(error))
    }

    // MARK: Writing

    /// Encrypts `plaintext` into pending ciphertext (one record per 16 KiB); drain it afterwards.
    public func write(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) {
        guard state == .open || state == .peerClosed else { throw .notOpen }
        guard !plaintext.isEmpty else { return }
        ERR_clear_error()
        var written = 0
        // Memory BIOs never push back, so a write completes whole or fails for good.
        guard SSL_write_ex(ssl, plaintext.baseAddress, plaintext.count, &written) == 1 else {
            let error = TLSError.protocolError(reason: takeOpenSSLErrors(or: "write failed"))
            state = .failed
            throw error
        }
    }

    /// Queues close_notify; drain it, then close the socket. Further feeds are ignored.
    public func close() {
        if state == .open || state == .peerClosed {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        }
        if state != .failed { state = .closed }
    }

    // MARK: Draining

    /// Ciphertext waiting to be sent.
    public var pendingCiphertextCount: Int { BIO_ctrl_pending(output) }

    /// Lends all pending ciphertext to `send`, then forgets it: `send` must write or copy all of it,
    /// and must not call `write` or `close` on this session while it holds the bytes.
    public func drainCiphertext(_ send: (UnsafeRawBufferPointer) -> Void) {
        let pending = MemoryBIO.pending(output)
        guard !pending.isEmpty else { return }
        send(pending)
        MemoryBIO.discard(output, count: pending.count)
    }
}
