/// Why a token was refused. Messages never quote the token.
public enum TokenProblem: Error, Equatable, Sendable {
    case missing
    case tooLarge
    case malformed(String)
    case unsupportedAlgorithm(String)
    case unknownKey
    case badSignature
    case expired
    case notYetValid
    case wrongSubject

    /// A plain-words explanation suitable for a 401 body.
    public var message: String {
        switch self {
        case .missing: return "no token was given"
        case .tooLarge: return "the token is too large"
        case .malformed(let detail): return "the token is malformed: \(detail)"
        case .unsupportedAlgorithm(let alg): return "tokens signed with \(alg) are not accepted"
        case .unknownKey: return "the token names a key this server does not have"
        case .badSignature: return "the token's signature does not verify"
        case .expired: return "the token has expired"
        case .notYetValid: return "the token is not valid yet"
        case .wrongSubject: return "the token was issued to a different device"
        }
    }

    /// A short stable label for metrics.
    public var reason: String {
        switch self {
        case .missing: return "missing"
        case .tooLarge: return "too_large"
        case .malformed: return "malformed"
        case .unsupportedAlgorithm: return "unsupported_algorithm"
        case .unknownKey: return "unknown_key"
        case .badSignature: return "bad_signature"
        case .expired: return "expired"
        case .notYetValid: return "not_yet_valid"
        case .wrongSubject: return "wrong_subject"
        }
    }
}
