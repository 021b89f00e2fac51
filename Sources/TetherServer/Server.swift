import Glibc
import Logging
import Switchboard
import UV
import WebSocket

/// Owns the loop, the listener, the switchboard and every connection; runs until SIGINT/SIGTERM.
public final class Server {
    public let config: ServerConfig
    public let loop: Loop
    public let logger: Logger
    let switchboard: Switchboard<Connection>
    let metrics = Metrics()
    let heartbeat: HeartbeatPolicy
    var heartbeatWheel: TimingWheel<Connection>
    private var listener: TCPListener?
    private var signals: [Signal] = []
    private var sweepTimer: Timer?
    private var tickHook: TickHook?
    private var minuteTimer: Timer?
    private var lastMinute = (routed: UInt64(0), errors: UInt64(0), refused: UInt64(0), accepted: UInt64(0))

    /// Aggregated counts once a minute at info; single connections and messages are never logged at info.
    private func logMinute() {
        let errors = metrics.routingErrors.values.reduce(0, +)
        let refused = metrics.handshakesFailed.values.reduce(0, +)
        logger.info("last minute", metadata: [
            "connections": "\(connectionCount)", "devices": "\(switchboard.deviceCount)",
            "accepted": "\(metrics.connectionsTotal - lastMinute.accepted)",
            "routed": "\(metrics.messagesRouted - lastMinute.routed)",
            "error_replies": "\(errors - lastMinute.errors)", "refused": "\(refused - lastMinute.refused)",
        ])
        lastMinute = (metrics.messagesRouted, errors, refused, metrics.connectionsTotal)
    }
    /// Open connections (the loop's handles are the list; no table per connection).
    private(set) var connectionCount = 0
    /// Connections waiting for the peer to finish a close, with their deadline in loop time.
    var closing: [ObjectIdentifier: (connection: Connection, deadline: UInt64)] = [:]
    /// Recipients over the queued-bytes cap, with the time they went over.
    var overCap: [ObjectIdentifier: (connection: Connection, since: UInt64)] = [:]
    /// Per-connection message rate (--max-messages-per-second); nil when there is no limit.
    var rateLimiter: RateLimiter<ObjectIdentifier>?

    public init(config: ServerConfig, logger: Logger = Logger(label: "tether")) throws {
        self.config = config
        self.logger = logger
        loop = try Loop()
        switchboard = Switchboard(presence: config.presence, allowClientBroadcast: config.allowClientBroadcast)
        heartbeat = HeartbeatPolicy(intervalMilliseconds: config.pingIntervalMilliseconds,
                                    timeoutMilliseconds: config.pingTimeoutMilliseconds)
        heartbeatWheel = TimingWheel(resolution: Server.sweepMilliseconds(config), now: loop.now)
        if config.maxMessagesPerSecond > 0 { rateLimiter = RateLimiter(perSecond: config.maxMessagesPerSecond) }
    }

    /// The sweep runs often enough for the shortest deadline it enforces, at most every second.
    static func sweepMilliseconds(_ config: ServerConfig) -> UInt64 {
        max(10, min(1000, config.pingIntervalMilliseconds / 4, config.pingTimeoutMilliseconds / 4, config.closeTimeoutMilliseconds / 4,
                    config.handshakeTimeoutMilliseconds / 4))
    }

    /// Binds and starts accepting; returns the bound address.
    @discardableResult
    public func start() throws -> SocketAddress {
        let listener = try TCPListener(loop: loop, host: config.host, port: config.port, backlog: config.backlog)
        listener.makeConnection = { [unowned self] loop throws(UVError) in
            let connection = try Connection(loop: loop, server: self)
            connectionCount += 1   // counted from creation, as connectionDidClose uncounts it
            return connection
        }
        listener.onConnection = { [unowned self] in accept($0 as! Connection) }
        listener.onAcceptError = { [logger] error in
            logger.warning("accept failed, still serving open connections", metadata: ["error": "\(error)"])
        }
        self.listener = listener
        for number in [SIGINT, SIGTERM] {
            signals.append(try Signal(loop: loop, signal: number) { [unowned self] in stop() })
        }
        let period = Server.sweepMilliseconds(config)
        let sweep = try Timer(loop: loop)
        var expected = loop.now + period
        sweep.start(afterMilliseconds: period, repeatEvery: period) { [unowned self] in
            let now = loop.now
            metrics.recordLag(now > expected ? now - expected : 0, now: now)
            expected = now + period
            self.sweep()
        }
        sweepTimer = sweep
        tickHook = try TickHook(loop: loop) { [unowned self] in flushPresence() }
        let minute = try Timer(loop: loop)
        minute.start(afterMilliseconds: 60_000, repeatEvery: 60_000) { [unowned self] in logMinute() }
        minuteTimer = minute
        return listener.localAddress!
    }

    /// Runs the loop until stopped, then closes every handle.
    public func run() throws {
        loop.run()
        closing.removeAll()
        overCap.removeAll()
        heartbeatWheel = TimingWheel(resolution: 1, now: 0)
        try loop.close()
    }

    var draining = false

    /// Graceful stop: no new connections, every device gets close 1001 without an offline storm,
    /// and the loop ends when all are closed or after the close timeout. A second call ends it at once.
    public func stop() {
        if draining { return loop.stop() }
        draining = true
        logger.info("draining", metadata: ["connections": "\(connectionCount)"])
        listener?.close()
        loop.forEachHandle { ($0 as? Connection)?.goAway() }
        if connectionCount == 0 { return loop.stop() }
        let deadline = try? Timer(loop: loop)
        deadline?.start(afterMilliseconds: config.drainMilliseconds) { [unowned self] in loop.stop() }
    }

    private var refusing = false

    private func accept(_ connection: Connection) {
        metrics.connectionsTotal += 1
        if connectionCount > config.maxConnections {
            connection.overCapacity = true
            if !refusing { logger.warning("at --max-connections \(config.maxConnections): answering 503") }
            refusing = true
        } else {
            refusing = false
        }
        // The request deadline first; once upgraded, the heartbeat takes over. The one wheel entry
        // may only move later (postponeCheck), so it starts no later than the first ping is due.
        connection.scheduleCheck(at: loop.now + min(config.handshakeTimeoutMilliseconds, config.pingIntervalMilliseconds))
        try? connection.setNoDelay(true)
        do {
            try connection.startReading()
        } catch {
            connection.close()
        }
    }

    func connectionDidClose(_ connection: Connection) {
        let id = ObjectIdentifier(connection)
        connectionCount -= 1
        closing[id] = nil
        overCap[id] = nil
        rateLimiter?.forget(id)
        if draining && connectionCount == 0 { loop.stop() }
    }

    func beginClosing(_ connection: Connection) {
        closing[ObjectIdentifier(connection)] = (connection, loop.now + config.closeTimeoutMilliseconds)
    }

    /// One timer for every deadline: unfinished closes, heartbeats, slow consumers.
    private func sweep() {
        let now = loop.now
        for (id, entry) in closing where entry.deadline <= now {
            closing[id] = nil
            entry.connection.close()
        }
        for connection in heartbeatWheel.takeDue(now: now) {
            connection.checkDeadlines(now: now)
        }
        for (id, entry) in overCap {
            if entry.connection.queuedBytes <= config.maxQueuedBytes {
                overCap[id] = nil
            } else if now - entry.since >= config.slowConsumerMilliseconds {
                overCap[id] = nil
                logger.debug("closing slow consumer", metadata: ["device": "\(entry.connection.deviceID ?? "")"])
                metrics.slowConsumerCloses += 1
                entry.connection.fail(.policyViolation, reason: "slow consumer")
            }
        }
    }

    /// A recipient is busy while its queue is over the cap; the first time, the clock starts.
    func isBusy(_ recipient: Connection) -> Bool {
        guard recipient.queuedBytes > config.maxQueuedBytes else { return false }
        let id = ObjectIdentifier(recipient)
        if overCap[id] == nil { overCap[id] = (recipient, loop.now) }
        return true
    }
}
