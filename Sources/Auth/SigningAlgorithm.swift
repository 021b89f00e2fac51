/// The JWS algorithms Tether accepts; each is bound to one key type.
public enum SigningAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// HMAC with SHA-256, shared secret.
    case hs256 = "HS256"
    /// ECDSA on P-256 with SHA-256.
    case es256 = "ES256"
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    case rs256 = "RS256"
}
