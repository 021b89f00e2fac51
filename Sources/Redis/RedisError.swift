import UV

/// Why a command got no reply, or why the link went down.
public enum RedisError: Error, Equatable, Sendable {
    /// Sent while the link was down: the command never left this process.
    case notConnected
    /// The link dropped (peer closed, reset, write failed) with the command in flight: it may have run.
    case disconnected(UVError?)
    /// Connecting failed (refused, unreachable).
    case connectFailed(UVError)
    /// No reply within the deadline: the link was declared down (the command may have run).
    case timedOut
    /// The server's bytes broke RESP or the decoder's limits: the link was dropped.
    case protocolViolation(RESPError)
    /// A reply arrived that no command was waiting for: the link was dropped.
    case unexpectedReply
    /// The handshake (PING or SELECT) got this error reply.
    case handshakeRefused([UInt8])
    /// `close()` was called.
    case closed
    /// The host is not an IP address (or `localhost`): names are not resolved here.
    case invalidAddress(String)
}
