/// Frame opcodes (RFC 6455 section 5.2); the others are reserved and fail the connection.
public enum Opcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// Which end of the connection the codec speaks for: clients mask, servers do not.
public enum Role: Sendable {
    case server
    case client
}
