import Switchboard

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
    /// Who hears presence events. Default `.all`.
    public var presence = PresenceMode.all
    /// Let devices send to "all". Default off (status 4).
    public var allowClientBroadcast = false
    /// A connection silent this long is pinged. Default 30 s.
    public var pingIntervalMilliseconds: UInt64 = 30_000
    /// A pinged connection silent this long after the ping is closed. Default 10 s.
    public var pingTimeoutMilliseconds: UInt64 = 10_000
    /// Outbound bytes a recipient may have queued before senders get status 5. Default 4 MiB.
    public var maxQueuedBytes = 4 << 20
    /// How long a recipient may stay over `maxQueuedBytes` before it is closed with 1008. Default 10 s.
    public var slowConsumerMilliseconds: UInt64 = 10_000
    /// Base of the pairing URL in QR codes (`<publicURL>/remote?box=ID`), e.g. `https://tv.example.com`.
    /// Default none: `http://` and the request's Host header.
    public var publicURL: String?
    /// Access-Control-Allow-Origin for HTTP answers, when set. Default none.
    public var corsOrigin: String?
    /// How long a closing connection waits for the peer's close or EOF. Default 3000 ms.
    public var closeTimeoutMilliseconds: UInt64 = 3000
    /// A request head (the handshake included) must arrive within this time of the connection
    /// opening or of the previous keep-alive answer. Default 5 s.
    public var handshakeTimeoutMilliseconds: UInt64 = 5000
    /// Connections served at once; more are answered 503. Default: the open-file limit minus 64.
    public var maxConnections = Int.max
    /// Browser origins allowed to open a WebSocket (the `Origin` header); others get 403.
    /// Empty (the default) allows every origin, and clients that send none.
    public var allowedOrigins: [String] = []
    /// Messages a device may send per second (token bucket, bursts up to twice that); over it the
    /// sender gets status 6, and one that keeps flooding (3 seconds' worth refused before the
    /// bucket refills) is closed with 1008. 0 (the default) turns the limit off.
    public var maxMessagesPerSecond = 0
    /// How long a drain (SIGTERM) waits for devices to close before exiting. Default 10 s.
    public var drainMilliseconds: UInt64 = 10_000
    /// Listen backlog. Default 1024.
    public var backlog: Int32 = 1024

    public init() {}
}
