import CSSL

/// An OpenSSL client over memory BIOs: the peer a `TLSSession` is tested against.
final class TestClient {
    struct Options {
        var minVersion = TLS1_2_VERSION
        var maxVersion = TLS1_3_VERSION
        var alpn: [String] = ["h2", "http/1.1"]
        var cipherList: String? = nil
        var trustedCAPEM: [UInt8]? = TestPKI.shared.caPEM
        /// A session (SSL_SESSION, from `savedSession`) to resume with its ticket.
        var resuming: OpaquePointer? = nil
    }

    let context: OpaquePointer
    let ssl: OpaquePointer
    private let input: OpaquePointer
    private let output: OpaquePointer

    init(_ options: Options = Options()) {
        context = SSL_CTX_new(TLS_client_method())!
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(options.minVersion), nil)
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(options.maxVersion), nil)
        if let cipherList = options.cipherList { SSL_CTX_set_cipher_list(context, cipherList) }
        if !options.alpn.isEmpty {
            let wire = options.alpn.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
            precondition(SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) == 0)
        }
        if let pem = options.trustedCAPEM, let ca = PEM.readCertificate(pem) {
            X509_STORE_add_cert(SSL_CTX_get_cert_store(context), ca)
            X509_free(ca)
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        }
        ssl = SSL_new(context)!
        input = BIO_new(BIO_s_mem())!
        output = BIO_new(BIO_s_mem())!
        _ = BIO_ctrl(input, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nil)
        SSL_set_bio(ssl, input, output)
        SSL_set_connect_state(ssl)
        if let session = options.resuming { SSL_set_session(ssl, session) }
        SSL_set1_host(ssl, "localhost")
        _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: ("localhost" as StaticString).utf8Start))
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    var handshakeDone: Bool { SSL_is_init_finished(ssl) == 1 }

    /// Moves the handshake on; false once it failed.
    @discardableResult
    func handshake() -> Bool {
        let result = SSL_do_handshake(ssl)
        if result == 1 { return true }
        let error = SSL_get_error(ssl, result)
        ERR_clear_error()
        return error == SSL_ERROR_WANT_READ
    }

    func receive(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        _ = bytes.withUnsafeBytes { BIO_write(input, $0.baseAddress, Int32($0.count)) }
    }

    /// Ciphertext the client has queued for the server.
    func takeOutput() -> [UInt8] {
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = BIO_read(output, &chunk, Int32(chunk.count))
            if count <= 0 { return bytes }
            bytes += chunk[0..<Int(count)]
        }
    }

    func write(_ plaintext: [UInt8]) {
        var written = 0
        precondition(plaintext.withUnsafeBytes { SSL_write_ex(ssl, $0.baseAddress, $0.count, &written) } == 1)
    }

    /// Every plaintext byte readable now, and whether close_notify arrived.
    func read() -> (bytes: [UInt8], closed: Bool) {
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            var count = 0
            if SSL_read_ex(ssl, &chunk, chunk.count, &count) == 1 {
                bytes += chunk[0..<count]
                continue
            }
            let error = SSL_get_error(ssl, 0)
            ERR_clear_error()
            return (bytes, error == SSL_ERROR_ZERO_RETURN)
        }
    }

    func sendCloseNotify() { _ = SSL_shutdown(ssl) }

    /// The session to resume later (call after `read()` has taken in the server's ticket); free with SSL_SESSION_free.
    var savedSession: OpaquePointer? { SSL_get1_session(ssl) }

    var resumedSession: Bool { SSL_session_reused(ssl) == 1 }

    var negotiatedProtocol: String? {
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        guard let name else { return nil }
        return String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
    }

    var verifiedChain: Bool { SSL_get_verify_result(ssl) == X509_V_OK }

    /// The common name of the certificate the server presented.
    var peerCommonName: String? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        var buffer = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, &buffer, Int32(buffer.count))
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
