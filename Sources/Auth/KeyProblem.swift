/// Why a PEM could not be used as a verification key.
public enum KeyProblem: Error, Equatable, Sendable, CustomStringConvertible {
    case privateKeyGiven
    case notAPublicKey
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
        case .unsupportedKeyType:
            return "only EC P-256 (ES256) and RSA (RS256) public keys are supported"
        case .unsupportedCurve(let curve):
            return "EC keys must use P-256 (ES256), not \(curve)"
        case .rsaKeyTooSmall(let bits):
            return "RSA keys must have at least 2048 bits, this one has \(bits)"
        }
    }

    public var description: String { message }
}
