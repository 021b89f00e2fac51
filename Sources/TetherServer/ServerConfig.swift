import Auth
import Switchboard
import UV

/// `open`: ids are believed (a lab or a closed network). `token`: a device proves its id with a
/// signed token and may message only whom its grants allow.
public enum AuthMode: String, Sendable, CaseIterable {
    case open, token
}

/// Where kept messages live: `sqlite` (under the state directory; survives a restart and a
/// crash) or `memory` (a restart loses them).
public enum OfflineStoreKind: String, Sendable, CaseIterable {
    case sqlite, memory
}

/// An HMAC secret that signs and verifies tokens, with the `kid` tokens name it by.
public struct HMACKey: Sendable {
    public var secret: [UInt8]
    public var kid: String?
    public init(secret: [UInt8], kid: String?) {
        self.secret = secret
        self.kid = kid
    }
}

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
    /// Browser origins allowed to open a WebSocket besides the server's own (an `Origin` whose
    /// host matches the request's Host or `publicURL`); others get 403. Requests without an
    /// `Origin` (boxes, native apps) are always allowed. Default: none besides the own.
    public var allowedOrigins: [String] = []
    /// Messages a device may send per second (token bucket, bursts up to twice that); over it the
    /// sender gets status 6, and one that keeps flooding (3 seconds' worth refused before the
    /// bucket refills) is closed with 1008. 0 (the default) turns the limit off.
    public var maxMessagesPerSecond = 0
    /// How long a drain (SIGTERM) waits for devices to close before exiting. Default 10 s.
    public var drainMilliseconds: UInt64 = 10_000
    /// SO_SNDBUF for each connection (the kernel doubles it), capped at a quarter of
    /// `maxQueuedBytes`: what the kernel may hold for a peer that does not read. 0 leaves the
    /// kernel's autotuning (up to megabytes a socket). Default 128 KiB.
    public var sendBufferBytes = 128 * 1024
    /// Connections one address may hold open; more get 503. 0 turns it off. Default 256.
    public var maxConnectionsPerAddress = 256
    /// New connections one address may open per second (bursts up to twice that); more get 429.
    /// 0 turns it off. Default 20.
    public var maxConnectsPerSecondPerAddress = 20
    /// Addresses the per-address limits do not apply to (load tests, a trusted proxy). Default none.
    public var limitExempt: [IPRange] = []
    /// Device ids one connection may watch in watchers mode (queryStatus beyond it is status 2;
    /// messaging adds no watch past it). Default 1000.
    public var maxWatched = 1000
    /// Largest request body (Content-Length) read; larger gets 413. Default 64 KiB.
    public var maxRequestBodyBytes = 64 * 1024
    /// HTTP requests served on one keep-alive connection; the last answer says `Connection: close`. Default 1000.
    public var maxRequestsPerConnection = 1000
    /// QR codes one address may have drawn per second (cache misses; bursts twice that); more get
    /// 429. 0 turns it off. Default 10.
    public var maxRendersPerSecondPerAddress = 10
    /// Rendered pairing codes kept for reuse (each format and scale apart). Default 256.
    public var qrCacheEntries = 256
    /// Offer permessage-deflate (RFC 7692) to clients that ask. Default on.
    public var deflate = true
    /// PEM certificate chain and private key: the port then speaks TLS only (`wss://`, `https://`).
    /// SIGHUP reloads them. Default none (plain).
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// Open or token mode. Default open (token whenever a key is configured).
    public var auth = AuthMode.open
    /// HMAC keys (HS256): the first also signs the tokens Tether mints (pairing, API, CLI). Default none.
    public var hmacKeys: [HMACKey] = []
    /// Public keys (ES256, RS256) tokens may be signed for. Default none.
    public var publicKeys: [VerificationKey] = []
    /// The backend's key for `/api/...` (Bearer). Default none: the API answers 404.
    public var apiKey: [UInt8]?
    /// Serve the operator console (`/console`, signed in with the API key; without `apiKey` it is
    /// not served). Default on.
    public var console = true
    /// `/metrics` needs the API key too. Default off.
    public var metricsAuth = false
    /// Where revocations and kept messages are kept (SQLite). Default `./tether-state`.
    public var stateDirectory = "./tether-state"
    /// How long a pairing code works. Default 300 s.
    public var pairingTTLSeconds: Int64 = 300
    /// Lifetime of a phone token minted at pairing. Default 30 days.
    public var pairedTokenTTLSeconds: Int64 = 30 * 86_400
    /// The `ttl` given to messages that carry none; 0 (the default) keeps nothing without one.
    public var offlineTTLSeconds = 0
    /// The longest `ttl` a message may ask for. Default 300 s.
    public var maxOfflineTTLSeconds = 300
    /// Kept messages per recipient. Default 100.
    public var offlineMaxMessages = 100
    /// Kept bytes per recipient. Default 256 KiB.
    public var offlineMaxBytes = 256 * 1024
    /// Kept bytes in all. Default 64 MiB.
    public var offlineMaxTotalBytes = 64 << 20
    /// Where kept messages live. Default sqlite (`kept.sqlite3` under `stateDirectory`).
    public var offlineStore = OfflineStoreKind.sqlite
    /// The SQLite store's commits: synced each tick (`full`, survives a power loss) or only at
    /// checkpoints (`normal`, survives the process being killed). Default full.
    public var offlineSyncFull = true
    /// Listen backlog. Default 1024.
    public var backlog: Int32 = 1024
    /// The fleet's Redis (`redis://host:port[/db]`): this process is one node of many. Default
    /// none: a single process that needs no Redis.
    public var clusterURL: String?
    /// A node whose lease is this old is dead (its devices are announced offline). Default 10 s.
    public var clusterLeaseMilliseconds: UInt64 = 10_000
    /// Entries a node's inbox may hold before senders get status 5. Default 100,000.
    public var clusterInboxMax = 100_000
    /// SO_REUSEPORT: several processes share the listening port (one per core). Default off.
    public var reusePort = false

    public init() {}
}
