import CSSL

/// Installs a certificate chain and its private key into an SSL_CTX.
enum Credentials {
    static func install(certificate: PEMSource, key: PEMSource, into context: OpaquePointer) throws(TLSContextError) {
        ERR_clear_error()
        try certificate.withBIO { bio throws(TLSContextError) in try installChain(from: bio, into: context) }
        try key.withBIO { bio throws(TLSContextError) in try installKey(from: bio, into: context) }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw .keyDoesNotMatchCertificate(reason: takeOpenSSLErrors(or: "key values mismatch"))
        }
    }

    /// The first certificate is the server's own; the ones after it are its chain, in order.
    private static func installChain(from bio: OpaquePointer, into context: OpaquePointer) throws(TLSContextError) {
        guard let leaf = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw .invalidCertificate(reason: takeOpenSSLErrors(or: "no PEM certificate"))
        }
        defer { X509_free(leaf) }
        guard SSL_CTX_use_certificate(context, leaf) == 1 else {
            throw .invalidCertificate(reason: takeOpenSSLErrors(or: "certificate refused"))
        }
        while let next = PEM_read_bio_X509(bio, nil, nil, nil) {
            guard ContextControl.addChainCertificate(context, next) else {
                X509_free(next)
                throw .invalidCertificate(reason: takeOpenSSLErrors(or: "chain certificate refused"))
            }
        }
        // The loop ends at the end of the text ("no start line"); anything else is a broken certificate.
        let last = ERR_peek_last_error()
        if last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE {
            throw .invalidCertificate(reason: takeOpenSSLErrors(or: "malformed chain certificate"))
        }
        ERR_clear_error()
    }

    private static func installKey(from bio: OpaquePointer, into context: OpaquePointer) throws(TLSContextError) {
        guard let key = PEM_read_bio_PrivateKey(bio, nil, refusePassphrase, nil) else {
            throw .invalidKey(reason: takeOpenSSLErrors(or: "no PEM private key"))
        }
        defer { EVP_PKEY_free(key) }
        guard SSL_CTX_use_PrivateKey(context, key) == 1 else {
            throw .keyDoesNotMatchCertificate(reason: takeOpenSSLErrors(or: "key refused"))
        }
    }
}

/// A server must never stop to ask a terminal for a passphrase: encrypted keys simply fail.
private func refusePassphrase(_: UnsafeMutablePointer<CChar>?, _: Int32, _: Int32, _: UnsafeMutableRawPointer?) -> Int32 { 0 }
