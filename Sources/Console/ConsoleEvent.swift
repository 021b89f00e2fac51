import Switchboard

/// One line of the console's recent events: a device connected or disconnected (with the close
/// code), an operator kicked it, or a credential was refused.
public struct ConsoleEvent: Sendable {
    public enum Kind: String, Sendable {
        case connect, disconnect, kick
        case authFailure = "auth_failure"
    }

    /// Numbers events in order, so a page can tell which it has already shown.
    public let seq: UInt64
    /// Wall clock, Unix milliseconds.
    public let time: Int64
    public let kind: Kind
    /// The device, or "" when there is none (a wrong API key).
    public let device: String
    /// The close code of a disconnect; 0 otherwise.
    public let code: UInt16
    /// Why: the close reason, the refusal's reason, the peer address of a connect.
    public let detail: String

    public var json: String {
        "{\"seq\":\(seq),\"time\":\(time),\"kind\":\"\(kind.rawValue)\",\"device\":\"\(jsonEscape(device))\""
            + (code == 0 ? "" : ",\"code\":\(code)") + ",\"detail\":\"\(jsonEscape(detail))\"}"
    }
}
