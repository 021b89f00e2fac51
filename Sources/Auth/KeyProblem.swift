/// Why a PEM could not be used as a verification or signing key.
public enum KeyProblem: Error, Equatable, Sendable, CustomStringConvertible {
    case privateKeyGiven
    case notAPublicKey
    case publicKeyGiven
    case notAPrivateKey
    case unsupportedKeyType
    case unsupportedCurve(String)
    case rsaKeyTooSmall(bits: Int)

    /// A plain-words explanation for startup errors.
    public var message: String {
        switch self {
        case .privateKeyGiven:
            return "this PEM holds a private key; give the public key (BEGIN PUBLIC KEY) instead"
        case .notAPublicKey:
            return "this is not a PEM public key; expected a BEGIN PUBLIC KEY block"
        case .publicKeyGiven:
            return "this PEM holds a public key; signing needs the private key (BEGIN PRIVATE KEY) instead"
        case .notAPrivateKey:
            return "this is not an unencrypted PEM private key; expected a BEGIN PRIVATE KEY block"
        case .unsupportedKeyType:
            return "only EC P-256 (ES256) and RSA (RS256) keys are supported"
        case .unsupportedCurve(let curve):
            return "EC keys must use P-256 (ES256), not \(curve)"
        case .rsaKeyTooSmall(let bits):
            return "RSA keys must have at least 2048 bits, this one has \(bits)"
        }
    }

    public var description: String { message }
}
