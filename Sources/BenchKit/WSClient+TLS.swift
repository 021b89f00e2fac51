import TLS
import UV

/// wss:// for bench clients: a full TLS 1.3 handshake, then the upgrade request. Frames are still
/// gathered per loop iteration (`send`); the connection's encoder turns each iteration's batch
/// into TLS records when it is written, as the server does with its own output.
extension WSClient {
    func startTLS(_ tcp: DelegatingConnection, context: TLSClientContext, then upgrade: @escaping () -> Void) {
        let session = TLSSession(client: context)
        tls = session
        onHandshake = upgrade
        tcp.encoder = { plaintext, emit in
            do { try session.write(plaintext) } catch { return }
            session.drainCiphertext(emit)
        }
        guard session.start() else { return fail("tls: no ClientHello") }
        session.drainCiphertext { _ = tcp.writeEncoded($0) }
    }

    /// Decrypts in place and hands the plaintext on; TLS's own answers go out at once.
    func readTLS(_ session: TLSSession, _ tcp: DelegatingConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        var failure: String?
        session.feed(UnsafeRawBufferPointer(bytes), plaintextBuffer: bytes) { event in
            switch event {
            case .handshakeCompleted:
                session.drainCiphertext { _ = tcp.writeEncoded($0) }   // the client Finished first
                onHandshake?()
                onHandshake = nil
            case .plaintext(let plaintext):
                consume(tcp, plaintext)
            case .peerClosed:
                session.close()
                failure = "tls: server sent close_notify"
            case .failure(let error):
                failure = "tls: \(error)"
            }
        }
        session.drainCiphertext { _ = tcp.writeEncoded($0) }
        if let failure { fail(failure) }
    }

    /// close_notify after whatever waits, before FIN.
    func closeTLS(_ session: TLSSession, _ tcp: DelegatingConnection) {
        tcp.flushGathered()
        tcp.encodeHeldOutput()
        session.close()
        session.drainCiphertext { _ = tcp.writeEncoded($0) }
    }
}
