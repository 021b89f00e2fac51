/// WebSocket close codes (RFC 6455 section 7.4) and the ones Tether defines for itself.
public struct CloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = CloseCode(rawValue: 1000)
    public static let goingAway = CloseCode(rawValue: 1001)
    public static let protocolError = CloseCode(rawValue: 1002)
    public static let unsupportedData = CloseCode(rawValue: 1003)
    public static let invalidPayload = CloseCode(rawValue: 1007)
    public static let policyViolation = CloseCode(rawValue: 1008)
    public static let messageTooBig = CloseCode(rawValue: 1009)
    public static let internalError = CloseCode(rawValue: 1011)
    /// Tether: another connection took over this device id.
    public static let replaced = CloseCode(rawValue: 4001)
    /// Tether: an operator closed the connection through the API.
    public static let disconnectedByOperator = CloseCode(rawValue: 4002)
    /// Tether: the connection's token expired and no fresh one came.
    public static let tokenExpired = CloseCode(rawValue: 4003)

    /// Whether a peer may send this code in a close frame (1004-1006, 1015 and
    /// unassigned codes below 3000 may not).
    public static func isAllowedOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }

    public var description: String { String(rawValue) }
}
