import CSSL

// libFuzzer entry for the TLS record path's glue (TLSSession between the socket and the HTTP and
// WebSocket code): input[0] picks the case, input[1] the read size, the rest is data.
//  0: the data is what a peer sent to a fresh server session, in reads of that size: the session
//     must fail or wait, never hand out plaintext, and queue a bounded answer.
//  1: after a real handshake with an OpenSSL client, the client encrypts the data and the server
//     session gets the ciphertext in reads of that size: its plaintext must be the data, in order.
//  2: the same the other way: the server session encrypts, the client must read the data back.
// TLS_FUZZ_CERT and TLS_FUZZ_KEY name a certificate and key (`make fuzz` makes them). Compiled
// with the TLS sources as one module by `make fuzz` (see Makefile).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLSRecords(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 2 else { return 0 }
    let step = Int(data[1]) * 8 + 1
    let payload = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    switch data[0] % 3 {
    case 0: fuzzPeerBytes(payload, step: step)
    case 1: fuzzClientToServer(payload, step: step)
    default: fuzzServerToClient(payload, step: step)
    }
    return 0
}

private func fuzzPeerBytes(_ bytes: UnsafeRawBufferPointer, step: Int) {
    let session = TLSSession(context: FuzzTLS.context)
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    var offset = 0
    var ended = false
    while offset < bytes.count && !ended {
        let chunk = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(offset + step, bytes.count)])
        offset += chunk.count
        buffer.withUnsafeMutableBytes { plain in
            session.feed(chunk, plaintextBuffer: plain) { event in
                switch event {
                case .plaintext: preconditionFailure("plaintext without a completed handshake")
                case .failure, .peerClosed: ended = true
                case .handshakeCompleted: preconditionFailure("a handshake completed with nobody")
                }
            }
        }
        precondition(session.pendingCiphertextCount <= 64 * 1024, "the answer to a peer grew without bound")
        session.drainCiphertext { _ in }
    }
}

private func fuzzClientToServer(_ bytes: UnsafeRawBufferPointer, step: Int) {
    guard let pair = FuzzTLS.connectedPair() else { return }
    var received: [UInt8] = []
    _ = bytes.isEmpty ? 1 : SSL_write(pair.client, bytes.baseAddress, Int32(bytes.count))
    let ciphertext = FuzzTLS.take(pair.clientOut)
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    ciphertext.withUnsafeBytes { all in
        var offset = 0
        while offset < all.count {
            let chunk = UnsafeRawBufferPointer(rebasing: all[offset..<min(offset + step, all.count)])
            offset += chunk.count
            buffer.withUnsafeMutableBytes { plain in
                pair.server.feed(chunk, plaintextBuffer: plain) { event in
                    switch event {
                    case .plaintext(let text): received += text
                    default: preconditionFailure("a good record stream failed: \(event)")
                    }
                }
            }
        }
    }
    precondition(received.elementsEqual(bytes), "plaintext out differs from plaintext in")
}

private func fuzzServerToClient(_ bytes: UnsafeRawBufferPointer, step: Int) {
    guard let pair = FuzzTLS.connectedPair() else { return }
    do { try pair.server.write(bytes) } catch { preconditionFailure("write on an open session: \(error)") }
    var ciphertext: [UInt8] = []
    pair.server.drainCiphertext { ciphertext += $0 }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    var offset = 0
    while offset < ciphertext.count {
        let end = min(offset + step, ciphertext.count)
        ciphertext[offset..<end].withUnsafeBytes { _ = BIO_write(pair.clientIn, $0.baseAddress, Int32($0.count)) }
        offset = end
        while true {
            let count = buffer.withUnsafeMutableBytes { SSL_read(pair.client, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else { break }
            received += buffer[0..<Int(count)]
        }
    }
    precondition(received.elementsEqual(bytes), "the client read something else than was written")
}

/// The server context, an OpenSSL client context, and handshakes between the two over memory.
enum FuzzTLS {
    nonisolated(unsafe) static let context: TLSContext = {
        guard let certificate = getenv("TLS_FUZZ_CERT"), let key = getenv("TLS_FUZZ_KEY") else {
            fatalError("set TLS_FUZZ_CERT and TLS_FUZZ_KEY (make fuzz does)")
        }
        do { return try TLSContext(certificateFile: String(cString: certificate), keyFile: String(cString: key)) } catch {
            fatalError("cannot load the fuzzing certificate: \(error)")
        }
    }()

    nonisolated(unsafe) static let clientContext: OpaquePointer = {
        let context = SSL_CTX_new(TLS_client_method())!
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        return context
    }()

    final class Pair {
        let server: TLSSession
        let client: OpaquePointer
        let clientIn: OpaquePointer
        let clientOut: OpaquePointer
        init(server: TLSSession, client: OpaquePointer, clientIn: OpaquePointer, clientOut: OpaquePointer) {
            self.server = server
            self.client = client
            self.clientIn = clientIn
            self.clientOut = clientOut
        }
        deinit { SSL_free(client) }
    }

    /// A server session and a client that completed a handshake with it.
    static func connectedPair() -> Pair? {
        let server = TLSSession(context: context)
        let client = SSL_new(clientContext)!
        let clientIn = BIO_new(BIO_s_mem())!
        let clientOut = BIO_new(BIO_s_mem())!
        SSL_set_bio(client, clientIn, clientOut)
        SSL_set_connect_state(client)
        let pair = Pair(server: server, client: client, clientIn: clientIn, clientOut: clientOut)
        var serverDone = false
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        for _ in 0..<10 where !(serverDone && SSL_is_init_finished(client) == 1) {
            _ = SSL_do_handshake(client)
            let flight = take(clientOut)
            flight.withUnsafeBytes { bytes in
                buffer.withUnsafeMutableBytes { plain in
                    server.feed(bytes, plaintextBuffer: plain) { event in
                        if case .handshakeCompleted = event { serverDone = true }
                    }
                }
            }
            server.drainCiphertext { _ = BIO_write(clientIn, $0.baseAddress, Int32($0.count)) }
        }
        _ = SSL_do_handshake(client)   // reads the server's last flight (TLS 1.3 tickets)
        precondition(serverDone && SSL_is_init_finished(client) == 1, "a handshake over memory did not complete")
        return pair
    }

    /// Everything `bio` holds.
    static func take(_ bio: OpaquePointer) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: BIO_ctrl_pending(bio))
        if !bytes.isEmpty { _ = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) } }
        return bytes
    }
}
