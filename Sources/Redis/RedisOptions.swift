/// How a Redis link behaves; every default is stated where it is declared.
public struct RedisOptions: Sendable {
    /// A command whose reply has not come this long after it was sent declares the link down
    /// (a frozen Redis keeps its socket open). Also bounds connecting and the handshake. 2 s.
    public var commandTimeout: Duration
    /// Reconnect delays: 50 ms doubling to 5 s, full jitter.
    public var backoff: RedisBackoff
    public var limits: RESPLimits
    /// A PING is sent when the link was idle this long, so a frozen Redis is noticed without
    /// traffic. nil (the default for commands): only real commands probe the link.
    public var pingInterval: Duration?

    public init(commandTimeout: Duration = .seconds(2), backoff: RedisBackoff = RedisBackoff(),
                limits: RESPLimits = RESPLimits(), pingInterval: Duration? = nil) {
        self.commandTimeout = commandTimeout
        self.backoff = backoff
        self.limits = limits
        self.pingInterval = pingInterval
    }

    /// The subscriber's defaults: as above, with a PING every second (it otherwise only listens).
    public static var subscriber: RedisOptions { RedisOptions(pingInterval: .seconds(1)) }
}
