import ArgumentParser
import Foundation
import Logging
import Pairing
import Switchboard
import TetherServer
import UV

/// `tether`: flags, each also settable as TETHER_<FLAG> (flags win), then the server runs.
@main
struct Tether: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A WebSocket server that lets set-top boxes and phones find and message each other.",
        discussion: "Every option can also be set by an environment variable TETHER_<OPTION> (e.g. TETHER_PORT); the flag wins."
    )

    @Option(help: "Address to listen on. Default 0.0.0.0.")
    var host: String?

    @Option(help: "TCP port; 0 picks a free one. Default 8080.")
    var port: Int?

    @Option(help: "Largest WebSocket message in bytes; larger closes with 1009. Default 1048576.")
    var maxMessageBytes: Int?

    @Option(help: "Presence announcements: all, watchers or off. Default all.")
    var presence: String?

    @Option(help: "Seconds of silence before a connection is pinged. Default 30.")
    var pingInterval: Double?

    @Option(help: "Seconds a pinged connection may stay silent before it is closed. Default 10.")
    var pingTimeout: Double?

    @Option(help: "Queued outbound bytes over which a recipient is busy (status 5). Default 4194304.")
    var maxQueuedBytes: Int?

    @Option(help: "Seconds a recipient may stay busy before it is closed with 1008. Default 10.")
    var slowConsumerSeconds: Double?

    @Option(help: "Seconds a client has to send a complete request head (the handshake). Default 5.")
    var handshakeTimeout: Double?

    @Option(help: "Connections served at once; more get HTTP 503. Default: the open-file limit minus 64.")
    var maxConnections: Int?

    @Option(help: "Comma-separated browser origins allowed to open a WebSocket besides the server's own (Host or --public-url); others get 403. Requests without Origin are allowed. Default: only the own.")
    var allowedOrigins: String?

    @Option(help: "SO_SNDBUF per connection (at most a quarter of --max-queued-bytes); 0 keeps the kernel's autotuning. Default 131072.")
    var sendBufferBytes: Int?

    @Option(name: .customLong("max-connections-per-ip"), help: "Connections one address may hold open (503 beyond); 0 is off. Default 256.")
    var maxConnectionsPerIP: Int?

    @Option(name: .customLong("max-connects-per-second-per-ip"), help: "New connections per second from one address (bursts twice that; 429 beyond); 0 is off. Default 20.")
    var maxConnectsPerSecondPerIP: Int?

    @Option(help: "Comma-separated CIDR ranges exempt from the per-address limits (e.g. 127.0.0.0/8 for load tests). Default none.")
    var limitExempt: String?

    @Option(help: "Device ids one connection may watch in watchers mode. Default 1000.")
    var maxWatched: Int?

    @Option(help: "Largest HTTP request body in bytes (413 beyond). Default 65536.")
    var maxRequestBodyBytes: Int?

    @Option(help: "HTTP requests served on one keep-alive connection. Default 1000.")
    var maxRequestsPerConnection: Int?

    @Option(name: .customLong("max-renders-per-second-per-ip"), help: "QR codes one address may have drawn per second (cache misses; 429 beyond); 0 is off. Default 10.")
    var maxRendersPerSecondPerIP: Int?

    @Option(help: "Rendered pairing QR codes kept for reuse. Default 256.")
    var qrCacheEntries: Int?

    @Option(help: "Messages per second a device may send (status 6 over it, 1008 for a flood); 0 is off. Default 0.")
    var maxMessagesPerSecond: Int?

    @Option(help: "Seconds a drain (SIGTERM/SIGINT) waits for devices to close. Default 10.")
    var drainSeconds: Double?

    @Option(help: "Log lines as json (one object per line on stdout) or text. Default text.")
    var logFormat: String?

    @Option(help: "Lowest level logged: trace, debug, info, notice, warning, error, critical. Default info.")
    var logLevel: String?

    @Option(help: "Base URL that pairing QR codes point at, e.g. https://tv.example.com. Default: http:// and the request's Host.")
    var publicURL: String?

    @Option(help: "Access-Control-Allow-Origin for HTTP answers. Default none.")
    var corsOrigin: String?

    @Option(help: "PEM certificate chain: with --tls-key the port speaks TLS only (wss://, https://); SIGHUP reloads both.")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "open (ids are believed; a lab or closed network) or token (devices prove their id with a signed token). Default: token when a key is configured, else open.")
    var auth: String?

    @Option(help: "Comma-separated files each holding an HS256 secret (kid: the file name without extension); the first also signs minted tokens.")
    var authHmacKeyFile: String?

    @Option(help: "Comma-separated PEM files of ES256 or RS256 public keys (kid: the file name without extension).")
    var authPublicKeyFile: String?

    @Option(help: "File holding the backend's API key (Bearer on /api/...). Default none: no API.")
    var apiKeyFile: String?

    @Option(help: "Directory for kept state (revocations, SQLite). Default ./tether-state.")
    var stateDir: String?

    @Option(help: "Seconds a pairing code works. Default 300.")
    var pairingTtl: Int?

    @Option(help: "Seconds a phone token minted at pairing lasts. Default 2592000 (30 days).")
    var pairedTokenTtl: Int?

    @Option(help: "Seconds a message without \"ttl\" is kept for an offline recipient; 0 keeps none (status 1). Default 0.")
    var offlineTtl: Int?

    @Option(help: "Largest \"ttl\" a message may ask for, in seconds. Default 300.")
    var maxOfflineTtl: Int?

    @Option(help: "Messages kept per offline recipient (status 5 beyond). Default 100.")
    var offlineMaxMessages: Int?

    @Option(help: "Bytes kept per offline recipient (status 5 beyond). Default 262144.")
    var offlineMaxBytes: Int?

    @Option(help: "Bytes kept for all offline recipients together (status 5 beyond). Default 67108864.")
    var offlineMaxTotalBytes: Int?

    @Option(help: "Where kept messages live: sqlite (under --state-dir; survives restarts and crashes) or memory (a restart loses them). Default sqlite.")
    var offlineStore: String?

    @Option(help: "SQLite store commits: full (synced every loop tick; survives a power loss) or normal (synced at checkpoints; survives the process being killed, not a power loss). Default full.")
    var offlineSync: String?

    @Option(help: "permessage-deflate for clients that offer it: on or off. Default on.")
    var deflate: String?

    @Option(help: "The operator console at /console (sign-in with the API key; needs --api-key-file): on or off. Default on.")
    var console: String?

    @Flag(inversion: .prefixedNo, help: "Serve /metrics only with the API key. Default off.")
    var metricsAuth: Bool?

    @Flag(inversion: .prefixedNo, help: "Let devices send to \"all\". Default off.")
    var allowClientBroadcast: Bool?

    @Flag(inversion: .prefixedNo, help: "Serve the /echo WebSocket endpoint for conformance tests. Default off.")
    var echo: Bool?

    @Option(help: "Join a fleet through this Redis: redis://host:port[/db]. Default none (one process, no Redis).")
    var cluster: String?

    @Option(help: "Seconds after which a silent node is dead and its devices are announced offline. Default 10.")
    var clusterLeaseSeconds: Double?

    @Option(help: "Entries a node's inbox may hold before senders get status 5. Default 100000.")
    var clusterInboxMax: Int?

    @Flag(inversion: .prefixedNo, help: "SO_REUSEPORT: several processes share the port. Default off.")
    var reusePort: Bool?

    /// Bad flags or environment values stop the start with one line and exit code 2.
    static func main() {
        if CommandLine.arguments.dropFirst().first == "token" {
            return runReportingBadInput(TokenCommand.self, Array(CommandLine.arguments.dropFirst(2)))
        }
        runReportingBadInput(Tether.self, nil)
    }

    static func runReportingBadInput<Command: ParsableCommand>(_ type: Command.Type, _ arguments: [String]?) {
        do {
            var command = try type.parseAsRoot(arguments)
            try command.run()
        } catch {
            if type.exitCode(for: error) == .validationFailure {
                let line = type.fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "invalid configuration"
                FileHandle.standardError.write(Data("tether: \(line)\n".utf8))
                Foundation.exit(2)
            }
            type.exit(withError: error)
        }
    }

    mutating func run() throws {
        let environment = EnvironmentOptions(ProcessInfo.processInfo.environment)
        let level = logLevel ?? environment.string("LOG_LEVEL") ?? "info"
        let format = logFormat ?? environment.string("LOG_FORMAT") ?? "text"
        guard let parsedLevel = Logger.Level(rawValue: level) else { throw ValidationError("log level \(level) is not one of trace...critical") }
        guard format == "json" || format == "text" else { throw ValidationError("log format must be json or text, not \(format)") }
        LoggingSystem.bootstrap { label in
            if format == "json" { return JSONLogHandler(label: label, logLevel: parsedLevel) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsedLevel
            return handler
        }
        let fileLimit = raiseOpenFileLimit()
        var config = try resolve(EnvironmentOptions(ProcessInfo.processInfo.environment))
        if config.maxConnections == Int.max { config.maxConnections = Int(max(fileLimit, 128) - 64) }
        let server: Server
        do { server = try Server(config: config) } catch {
            throw ValidationError("cannot start: \(error)")   // a bad certificate, key or state directory (or one in use)
        }
        let address = try server.start()
        print("tether listening on \(address)")
        fflush(nil)   // the first stdout line, before any log line
        server.logger.info("open-file limit \(fileLimit): serving at most \(config.maxConnections) connections")
        if config.auth == .open {
            server.logger.warning("--auth open: any client may connect as any device id; use token mode outside a lab or closed network")
        }
        try server.run()
    }

    /// Flags first, then TETHER_* variables, then defaults; bad values stop the start (exit 2).
    func resolve(_ env: EnvironmentOptions) throws -> ServerConfig {
        var config = ServerConfig()
        config.host = host ?? env.string("HOST") ?? config.host
        config.port = try checked("port", port, in: 0...65535) ?? env.int("PORT", in: 0...65535) ?? config.port
        config.maxMessageBytes = try checked("max-message-bytes", maxMessageBytes, in: 1...(1 << 30))
            ?? env.int("MAX_MESSAGE_BYTES", in: 1...(1 << 30)) ?? config.maxMessageBytes
        if let mode = presence ?? env.string("PRESENCE") {
            guard let parsed = PresenceMode(rawValue: mode) else {
                throw ValidationError("presence must be all, watchers or off, not \(mode)")
            }
            config.presence = parsed
        }
        config.pingIntervalMilliseconds = try milliseconds("ping-interval", pingInterval, env, "PING_INTERVAL") ?? config.pingIntervalMilliseconds
        config.pingTimeoutMilliseconds = try milliseconds("ping-timeout", pingTimeout, env, "PING_TIMEOUT") ?? config.pingTimeoutMilliseconds
        config.slowConsumerMilliseconds = try milliseconds("slow-consumer-seconds", slowConsumerSeconds, env, "SLOW_CONSUMER_SECONDS")
            ?? config.slowConsumerMilliseconds
        config.maxQueuedBytes = try checked("max-queued-bytes", maxQueuedBytes, in: 1024...(1 << 40))
            ?? env.int("MAX_QUEUED_BYTES", in: 1024...(1 << 40)) ?? config.maxQueuedBytes
        config.handshakeTimeoutMilliseconds = try milliseconds("handshake-timeout", handshakeTimeout, env, "HANDSHAKE_TIMEOUT")
            ?? config.handshakeTimeoutMilliseconds
        config.maxConnections = try checked("max-connections", maxConnections, in: 1...(1 << 30))
            ?? env.int("MAX_CONNECTIONS", in: 1...(1 << 30)) ?? config.maxConnections
        config.maxMessagesPerSecond = try checked("max-messages-per-second", maxMessagesPerSecond, in: 0...1_000_000)
            ?? env.int("MAX_MESSAGES_PER_SECOND", in: 0...1_000_000) ?? config.maxMessagesPerSecond
        config.drainMilliseconds = try milliseconds("drain-seconds", drainSeconds, env, "DRAIN_SECONDS") ?? config.drainMilliseconds
        config.corsOrigin = corsOrigin ?? env.string("CORS_ORIGIN")
        if let url = publicURL ?? env.string("PUBLIC_URL") {
            if let problem = PairingLink.problem(withPublicURL: url) { throw ValidationError("--public-url: \(problem)") }
            config.publicURL = url
        }
        if let origins = allowedOrigins ?? env.string("ALLOWED_ORIGINS") {
            config.allowedOrigins = origins.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }
        }
        config.sendBufferBytes = try checked("send-buffer-bytes", sendBufferBytes, in: 0...(1 << 30))
            ?? env.int("SEND_BUFFER_BYTES", in: 0...(1 << 30)) ?? config.sendBufferBytes
        config.maxConnectionsPerAddress = try checked("max-connections-per-ip", maxConnectionsPerIP, in: 0...(1 << 30))
            ?? env.int("MAX_CONNECTIONS_PER_IP", in: 0...(1 << 30)) ?? config.maxConnectionsPerAddress
        config.maxConnectsPerSecondPerAddress = try checked("max-connects-per-second-per-ip", maxConnectsPerSecondPerIP, in: 0...1_000_000)
            ?? env.int("MAX_CONNECTS_PER_SECOND_PER_IP", in: 0...1_000_000) ?? config.maxConnectsPerSecondPerAddress
        if let ranges = limitExempt ?? env.string("LIMIT_EXEMPT") {
            config.limitExempt = try ranges.split(separator: ",").map { text in
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                guard let range = IPRange(trimmed) else { throw ValidationError("--limit-exempt: \(trimmed) is not an address or CIDR range") }
                return range
            }
        }
        config.maxWatched = try checked("max-watched", maxWatched, in: 1...1_000_000) ?? env.int("MAX_WATCHED", in: 1...1_000_000) ?? config.maxWatched
        config.maxRequestBodyBytes = try checked("max-request-body-bytes", maxRequestBodyBytes, in: 0...(16 << 20))
            ?? env.int("MAX_REQUEST_BODY_BYTES", in: 0...(16 << 20)) ?? config.maxRequestBodyBytes
        config.maxRequestsPerConnection = try checked("max-requests-per-connection", maxRequestsPerConnection, in: 1...(1 << 30))
            ?? env.int("MAX_REQUESTS_PER_CONNECTION", in: 1...(1 << 30)) ?? config.maxRequestsPerConnection
        config.maxRendersPerSecondPerAddress = try checked("max-renders-per-second-per-ip", maxRendersPerSecondPerIP, in: 0...1_000_000)
            ?? env.int("MAX_RENDERS_PER_SECOND_PER_IP", in: 0...1_000_000) ?? config.maxRendersPerSecondPerAddress
        config.qrCacheEntries = try checked("qr-cache-entries", qrCacheEntries, in: 0...100_000)
            ?? env.int("QR_CACHE_ENTRIES", in: 0...100_000) ?? config.qrCacheEntries
        try resolveTrust(env, into: &config)
        try resolveKeeping(env, into: &config)
        if let mode = deflate ?? env.string("DEFLATE") {
            guard mode == "on" || mode == "off" else { throw ValidationError("deflate must be on or off, not \(mode)") }
            config.deflate = mode == "on"
        }
        if let mode = console ?? env.string("CONSOLE") {
            guard mode == "on" || mode == "off" else { throw ValidationError("console must be on or off, not \(mode)") }
            config.console = mode == "on"
        }
        config.tlsCertificateFile = tlsCert ?? env.string("TLS_CERT")
        config.tlsKeyFile = tlsKey ?? env.string("TLS_KEY")
        if (config.tlsCertificateFile == nil) != (config.tlsKeyFile == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        config.allowClientBroadcast = try allowClientBroadcast ?? env.bool("ALLOW_CLIENT_BROADCAST") ?? false
        config.echo = try echo ?? env.bool("ECHO") ?? config.echo
        try resolveCluster(env, into: &config)
        return config
    }

    func checked(_ name: String, _ value: Int?, in range: ClosedRange<Int>) throws -> Int? {
        guard let value else { return nil }
        guard range.contains(value) else { throw ValidationError("--\(name) must be in \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func milliseconds(_ name: String, _ flag: Double?, _ env: EnvironmentOptions, _ envName: String) throws -> UInt64? {
        guard let seconds = try flag ?? env.double(envName) else { return nil }
        guard seconds >= 0.01 && seconds <= 86_400 else { throw ValidationError("--\(name) must be 0.01...86400 seconds") }
        return UInt64(seconds * 1000)
    }
}
