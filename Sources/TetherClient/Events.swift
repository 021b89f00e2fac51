/// What the client knows of a watched device.
public enum DeviceState: String, Sendable {
    case online, offline, unknown
}

/// A state learned of a watched id: from a presence frame (`announced`) or an answer to a status
/// query (after every connect, and probes). Sent whether or not it changed.
public struct PresenceChange: Sendable, Equatable {
    public var id: String
    public var state: DeviceState
    public var previous: DeviceState
    public var announced: Bool
    public var changed: Bool { state != previous }
}

/// A message routed to this device (its `from` checked by the server), or the server's own
/// (`from == "server"`, an id no device may use).
public struct TetherMessage: Sendable, Equatable {
    public var from: String
    public var to: String
    public var msg: JSONValue
    /// The whole frame, for members other than from, to and msg.
    public var frame: JSONValue
}

/// Why the client stopped for good: the server said not to come back.
public enum StopReason: String, Sendable {
    case replaced       // 4001: another connection took this device id
    case disconnected   // 4002: an operator closed it
    case expired        // 4003: the token expired

    init?(closeCode: UInt16) {
        switch closeCode {
        case 4001: self = .replaced
        case 4002: self = .disconnected
        case 4003: self = .expired
        default: return nil
        }
    }
}

/// Where the link stands.
public enum LinkEvent: Sendable, Equatable {
    case connecting
    case open
    /// Reconnecting after `delay`; `code` is the close code (1006 when the link just ended).
    case waiting(delay: Duration, attempt: Int, code: UInt16, reason: String)
    case stopped(StopReason)
    case closed
    /// A server reply no send or command was waiting for (a late status 1, say).
    case reply(JSONValue)
}
