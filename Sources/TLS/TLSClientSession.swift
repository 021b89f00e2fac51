import CSSL

/// Client settings for load generation and tests: TLS 1.3 only, ALPN `http/1.1`, and no
/// certificate verification (the peer is our own server on loopback; verifying its chain would
/// only add client CPU to what a benchmark measures). The server still proves it holds the key:
/// TLS 1.3's CertificateVerify signature is checked whatever the verify mode.
public final class TLSClientContext {
    let context: OpaquePointer

    public init() throws(TLSContextError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw .setupFailed(reason: takeOpenSSLErrors(or: "SSL_CTX_new failed"))
        }
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        guard ContextControl.setProtocolVersions(context, min: TLS1_3_VERSION, max: TLS1_3_VERSION),
              SSL_CTX_set_alpn_protos(context, alpn, UInt32(alpn.count)) == 0   // 0 is success here
        else {
            SSL_CTX_free(context)
            throw .setupFailed(reason: takeOpenSSLErrors(or: "OpenSSL refused a setting"))
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        // Thousands of idle bench clients: their record buffers go back to the allocator too.
        ContextControl.setMode(context, SSL_MODE_RELEASE_BUFFERS)
        self.context = context
    }

    deinit { SSL_CTX_free(context) }
}

/// The client end of one TLS connection over memory BIOs, the mirror of `TLSSession`: `start()`
/// queues the ClientHello; then ciphertext in, `TLSEvent`s out; plaintext in, ciphertext to send.
/// Every handshake is a full one (no session is offered for resumption).
///
/// After `start`, every `feed`, `write` or `close`, drain the pending ciphertext to the socket.
public final class TLSClientSession {
    private let ssl: OpaquePointer
    private let input: OpaquePointer    // ciphertext from the server, owned by `ssl`
    private let output: OpaquePointer   // ciphertext for the server, owned by `ssl`
    private var state = State.handshaking

    private enum State {
        case handshaking
        case open
        case peerClosed
        case closed
        case failed
    }

    public init(context: TLSClientContext) {
        guard let ssl = SSL_new(context.context) else { fatalError("SSL_new: out of memory") }
        self.ssl = ssl
        input = MemoryBIO.make()
        output = MemoryBIO.make()
        SSL_set_bio(ssl, input, output)
        SSL_set_connect_state(ssl)
    }

    deinit { SSL_free(ssl) }   // frees both BIOs

    public var handshakeDone: Bool { state == .open || state == .peerClosed || state == .closed }

    /// "TLSv1.3".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Queues the ClientHello (drain it to the socket); false when OpenSSL could not make one.
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

    /// Takes ciphertext from the socket and reports what it held; plaintext is decrypted into
    /// `plaintextBuffer`, which may be the buffer `ciphertext` points into. `handle` may call
    /// `write`, `close` and `drainCiphertext`, but not `feed`.
    public func feed(_ ciphertext: UnsafeRawBufferPointer, plaintextBuffer: UnsafeMutableRawBufferPointer,
                     _ handle: (TLSEvent) -> Void) {
        precondition(!plaintextBuffer.isEmpty && ciphertext.count <= Int(Int32.max), "a plaintext buffer, and reads under 2 GiB")
        guard !ciphertext.isEmpty, state == .handshaking || state == .open else { return }
        ERR_clear_error()
        defer { MemoryBIO.trimIfEmpty(input) }
        guard BIO_write(input, ciphertext.baseAddress, Int32(ciphertext.count)) == Int32(ciphertext.count) else {
            return fail(.protocolError(reason: takeOpenSSLErrors(or: "out of memory")), handle)
        }
        if state == .handshaking {
            let result = SSL_do_handshake(ssl)
            guard result == 1 else {
                if SSL_get_error(ssl, result) != SSL_ERROR_WANT_READ {
                    fail(.handshakeFailed(reason: takeOpenSSLErrors(or: "handshake failed")), handle)
                }
                return
            }
            state = .open
            handle(.handshakeCompleted)
        }
        while state == .open {
            var count = 0
            if SSL_read_ex(ssl, plaintextBuffer.baseAddress, plaintextBuffer.count, &count) == 1 {
                handle(.plaintext(UnsafeMutableRawBufferPointer(rebasing: plaintextBuffer[0..<count])))
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

    /// Encrypts `plaintext` into pending ciphertext (one record per 16 KiB); drain it afterwards.
    public func write(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) {
        guard state == .open || state == .peerClosed else { throw .notOpen }
        guard !plaintext.isEmpty else { return }
        ERR_clear_error()
        var written = 0
        guard SSL_write_ex(ssl, plaintext.baseAddress, plaintext.count, &written) == 1 else {
            let error = TLSError.protocolError(reason: takeOpenSSLErrors(or: "write failed"))
            state = .failed
            throw error
        }
    }

    /// Queues close_notify; drain it, then close the socket.
    public func close() {
        if state == .open || state == .peerClosed {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        }
        if state != .failed { state = .closed }
    }

    public var pendingCiphertextCount: Int { BIO_ctrl_pending(output) }

    /// Lends all pending ciphertext to `send`, then forgets it (as `TLSSession.drainCiphertext`).
    public func drainCiphertext(_ send: (UnsafeRawBufferPointer) -> Void) {
        let pending = MemoryBIO.pending(output)
        guard !pending.isEmpty else { return }
        send(pending)
        MemoryBIO.discard(output, count: pending.count)
    }
}
