import CSSL

/// A server's certificate, key and TLS settings (TLS 1.2 and 1.3, AEAD ciphers, ALPN http/1.1),
/// from which each connection's `TLSSession` starts.
///
/// `reload` swaps in a new certificate and key for sessions made afterwards; a session keeps the
/// SSL_CTX it started with (OpenSSL counts references), so live connections are not disturbed.
/// Use it on one thread (the loop's).
public final class TLSContext {
    /// The SSL_CTX new sessions start from.
    private(set) var current: OpaquePointer

    /// From PEM text: the certificate first, then its chain; the private key unencrypted.
    public convenience init(certificatePEM: [UInt8], keyPEM: [UInt8]) throws(TLSContextError) {
        try self.init(certificate: .bytes(certificatePEM), key: .bytes(keyPEM))
    }

    /// From PEM files, as `init(certificatePEM:keyPEM:)`.
    public convenience init(certificateFile: String, keyFile: String) throws(TLSContextError) {
        try self.init(certificate: .file(certificateFile), key: .file(keyFile))
    }

    private init(certificate: PEMSource, key: PEMSource) throws(TLSContextError) {
        current = try TLSContext.load(certificate: certificate, key: key)
    }

    /// New sessions use the new pair; on error the old pair stays and the error says why.
    public func reload(certificatePEM: [UInt8], keyPEM: [UInt8]) throws(TLSContextError) {
        try swap(to: TLSContext.load(certificate: .bytes(certificatePEM), key: .bytes(keyPEM)))
    }

    /// New sessions use the pair read from these files; on error the old pair stays.
    public func reload(certificateFile: String, keyFile: String) throws(TLSContextError) {
        try swap(to: TLSContext.load(certificate: .file(certificateFile), key: .file(keyFile)))
    }

    private func swap(to context: OpaquePointer) {
        SSL_CTX_free(current)   // sessions made from it hold their own references
        current = context
    }

    private static func load(certificate: PEMSource, key: PEMSource) throws(TLSContextError) -> OpaquePointer {
        let context = try ServerSettings.makeContext()
        do {
            try Credentials.install(certificate: certificate, key: key, into: context)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        return context
    }

    deinit { SSL_CTX_free(current) }
}
