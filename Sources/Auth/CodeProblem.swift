/// Why a pairing code was refused.
public enum CodeProblem: Error, Equatable, Sendable {
    case unknown
    case used
    case expired

    /// A plain-words explanation for the person pairing.
    public var message: String {
        switch self {
        case .unknown: return "this pairing code is not known; ask the box for a new one"
        case .used: return "this pairing code has already been used; ask the box for a new one"
        case .expired: return "this pairing code has expired; ask the box for a new one"
        }
    }

    /// A short stable label for metrics.
    public var reason: String {
        switch self {
        case .unknown: return "unknown"
        case .used: return "used"
        case .expired: return "expired"
        }
    }
}
