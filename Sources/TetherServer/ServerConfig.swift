/// Everything the server can be told at start. Each field states its default.
public struct ServerConfig: Sendable {
    /// Address to listen on. Default "0.0.0.0"; "::" for IPv6 (and IPv4 where dual-stack).
    public var host = "0.0.0.0"
    /// TCP port; 0 picks a free one (the listening line on stdout names it). Default 8080.
    public var port = 8080
    /// Largest WebSocket message accepted; larger ones close the connection with 1009. Default 1 MiB.
    public var maxMessageBytes = 1 << 20
    /// Serve the `/echo` WebSocket endpoint (conformance testing). Default off.
    public var echo = false
    /// How long a closing connection waits for the peer's close or EOF. Default 3000 ms.
    public var closeTimeoutMilliseconds: UInt64 = 3000
    /// Listen backlog. Default 1024.
    public var backlog: Int32 = 1024

    public init() {}
}
