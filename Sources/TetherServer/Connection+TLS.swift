import TLS
import UV

/// `wss://` and `https://` on the same port (--tls-cert/--tls-key): ciphertext in, plaintext to
/// the usual HTTP and WebSocket code; everything written goes out as TLS records. The layer
/// costs nothing on a plain server (the session is nil).
extension Connection {
    /// Plaintext to TLS records (the UV layer calls it for every write when `encodesOutput`).
    func encrypt(_ plaintext: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {
        guard let tls, !plaintext.isEmpty else { return }
        do { try tls.write(plaintext) } catch { return }
        tls.drainCiphertext(emit)
    }

    /// Decrypts what arrived and hands the plaintext on; TLS's own answers (handshake, alerts,
    /// tickets) go out at once.
    func readTLS(_ session: TLSSession, _ bytes: UnsafeMutableRawBufferPointer) {
        var failed = false
        session.feed(UnsafeRawBufferPointer(bytes), plaintextBuffer: bytes) { event in
            switch event {
            case .plaintext(let plaintext):
                consume(plaintext)
            case .handshakeCompleted:
                server.metrics.tlsHandshakes += 1
            case .peerClosed:
                session.close()
                failed = true
            case .failure(.plainHTTP):
                server.metrics.tlsRefusals["plain_http", default: 0] += 1
                PlainHTTPRefusal.response.withUnsafeBytes { _ = writeEncoded($0) }
                failed = true
            case .failure(let error):
                server.metrics.tlsRefusals[error.metricReason, default: 0] += 1
                failed = true
            }
        }
        session.drainCiphertext { _ = writeEncoded($0) }
        // Alerts and a refusal are queued: they go out, then FIN, and the close waits (bounded) for EOF.
        if failed { finishClosing() }
    }

    /// A plain-port connection whose first bytes are a TLS ClientHello: not HTTP, closed at once.
    func refuseTLSOnPlainPort(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard case .http(let parser) = state, parser.headsParsed == 0, parser.bufferedBytes == 0,
              FirstBytes.lookLikeTLSClientHello(UnsafeRawBufferPointer(bytes)) else { return false }
        server.metrics.tlsRefusals["tls_on_plain_port", default: 0] += 1
        terminate()
        return true
    }
}

extension TLSError {
    var metricReason: String {
        switch self {
        case .plainHTTP: "plain_http"
        case .handshakeFailed: "handshake_failed"
        case .protocolError: "protocol_error"
        case .notOpen: "not_open"
        }
    }
}
