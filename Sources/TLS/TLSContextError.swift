/// Why a certificate and key could not become a TLS context. The strings are OpenSSL's reasons.
public enum TLSContextError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadableFile(path: String, reason: String)
    /// No PEM certificate, or one OpenSSL rejects (malformed, or too weak for its security level).
    case invalidCertificate(reason: String)
    /// No PEM private key, an encrypted one (no passphrase is asked for), or a malformed one.
    case invalidKey(reason: String)
    case keyDoesNotMatchCertificate(reason: String)
    /// OpenSSL could not set up a context (out of memory, or a setting it refused).
    case setupFailed(reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): "cannot read \(path): \(reason)"
        case .invalidCertificate(let reason): "invalid certificate: \(reason)"
        case .invalidKey(let reason): "invalid private key: \(reason)"
        case .keyDoesNotMatchCertificate(let reason): "private key does not match the certificate: \(reason)"
        case .setupFailed(let reason): "TLS setup failed: \(reason)"
        }
    }
}
