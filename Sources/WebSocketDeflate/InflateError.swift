import WebSocket

/// Why a compressed message could not be inflated.
public enum InflateError: Error, Equatable, Sendable {
    /// It inflates to more than the limit; inflation stopped at the limit.
    case tooBig
    /// It is not valid DEFLATE data.
    case invalid

    /// The close code to fail the connection with (RFC 6455 section 7.4.1).
    public var closeCode: CloseCode {
        switch self {
        case .tooBig: .messageTooBig
        case .invalid: .invalidPayload
        }
    }
}
