/// A key that may verify tokens, optionally named by a `kid`.
public struct VerificationKey: Sendable {
    enum Material: Sendable {
        case secret([UInt8])
        case publicKey(PublicKey)
    }

    let material: Material
    /// The algorithm this key verifies; tokens using another are never checked with it.
    public let algorithm: SigningAlgorithm
    /// The key id tokens use to pick this key.
    public let kid: String?

    /// A shared HS256 secret. An empty secret verifies nothing.
    public static func hmac(secret: [UInt8], kid: String?) -> VerificationKey {
        VerificationKey(material: .secret(secret), algorithm: .hs256, kid: kid)
    }

    /// An ES256 (EC P-256) or RS256 (RSA >= 2048 bits) public key in SPKI PEM form.
    public static func publicKey(pem: String, kid: String?) throws(KeyProblem) -> VerificationKey {
        let key = try PublicKey(pem: pem)
        return VerificationKey(material: .publicKey(key), algorithm: try key.algorithm(), kid: kid)
    }
}
