import Auth
import Cluster
import Console
import Glibc
import TLS
import WebSocketDeflate
import Logging
import Storage
import Switchboard
import UV
import WebSocket

/// Owns the loop, the listener, the switchboard and every connection; runs until SIGINT/SIGTERM.
public final class Server {
    public let config: ServerConfig
    public let loop: Loop
    public let logger: Logger
    /// Whether debug lines are written, read once: asking the logger copies its handler (twice a
    /// connection). The logger is a constant and both handlers are values, so its level is fixed.
    let logsDebug: Bool
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
    /// Per-address connection limits; nil when both are off.
    var addressLimits: AddressLimits<IPAddress>?
    /// The address each limited connection counts against (exempt ones are not here).
    var countedAddress: [ObjectIdentifier: IPAddress] = [:]
    /// Input a connection sent past its turn's budget, served on a later turn.
    var deferredInput: [ObjectIdentifier: (connection: Connection, bytes: [UInt8])] = [:]
    private var deferredOrder: [ObjectIdentifier] = []
    /// Serves deferred input, one slice per loop iteration, while any is left.
    private var deferredIdle: Idle?
    /// HTTP work done during this loop iteration, by all connections together (nanoseconds).
    var httpWorkThisTurn: UInt64 = 0
    /// Rendered pairing codes.
    let qrCache: QRCache
    /// QR codes drawn per address and second (--max-renders-per-second-per-ip); nil when off.
    var renderLimiter: RateLimiter<IPAddress>?
    /// Failed API-key attempts per address (a few a second, then 429).
    var apiFailures = RateLimiter<IPAddress>(perSecond: 2)
    /// The TLS settings new connections start from (nil on a plain server); SIGHUP swaps them.
    let tlsContext: TLSContext?
    /// When each device connected and its class, kept only when the API (which reports it) is on.
    var ledger: DeviceLedger?
    /// The operator console (--console, behind the API key); nil when off.
    private(set) var console: OperatorConsole?
    /// Each TLS connection's session.
    var tlsSessions: [ObjectIdentifier: TLSSession] = [:]
    /// permessage-deflate (nil with --deflate off): one shared compressor and decompressor serve
    /// every connection, since the server keeps no context between messages.
    let deflatePolicy: DeflatePolicy?
    let deflater = MessageDeflater()
    let inflater: MessageInflater?
    /// Inflates frames the server itself compressed and could not deliver (a cold path of its
    /// own, so it never runs inside the client inflater's callback).
    lazy var sentFrameInflater = MessageInflater(maxMessageBytes: config.maxMessageBytes)
    /// Token mode's state; nil in open mode.
    let trust: Trust?
    /// This process as a node of a fleet (`--cluster`); nil for a single process.
    let cluster: ClusterNode?
    var clusterEvents: ClusterEvents?
    /// The console's view of the fleet (the console keeps it weakly).
    var clusterConsole: ClusterConsoleView?
    /// Each device held here and its connection's serial in the fleet's registry (cluster only).
    var clusterSerials: [String: UInt64] = [:]
    var nextClusterSerial: UInt64 = 0
    /// Serials whose claim is waiting for Redis' answer, and whether a claim elsewhere already
    /// replaced them (that notice travels the inbox link, the answer the command link): such a
    /// connection is closed with 4001 once admitted.
    var claimsInFlight: [UInt64: Bool] = [:]
    /// Watchers mode in a cluster: what this node last told its watchers of each watched device.
    var presenceKnown: [String: Bool] = [:]
    /// Input of connections waiting for the fleet's answer.
    var waitingInput: [ObjectIdentifier: [UInt8]] = [:]
    /// Messages kept for offline devices (Server+Kept.swift).
    let kept: KeptMessageStore
    /// The same store when it is local: its new keeps take the path without a callback each.
    let localKept: LocalKeptStore?
    /// This tick's keeps through `localKept`, answered after its commit.
    var pendingKeeps = PendingKeeps()
    /// Something kept-related happened this tick: the end of the tick settles it.
    var keptActivity = false
    /// Devices that registered this tick with something kept for them.
    var keptArrivals: [Connection] = []
    /// Messages routed to a connection while its kept messages were not out yet.
    var heldBehindKept: [ObjectIdentifier: [[UInt8]]] = [:]
    /// Kept messages handed to a connection whose socket has not taken all of them yet.
    var keptInFlight: [ObjectIdentifier: [KeptMessage]] = [:]
    /// Connections given kept messages this tick.
    var handedTo: [Connection] = []
    /// Receipts owed once this tick's commit is done: (sender id, receipt).
    var pendingReceipts: [(String, KeptReply)] = []
    private var lastPrune: UInt64 = 0
    /// Connections closed since the allocator was last asked to return free memory.
    private var closedSinceTrim = 0
    /// Closed connections the heartbeat wheel still holds (dropped in batches by the sweep).
    private var closedInWheel = 0
    private var lastTrim: UInt64 = 0

    public init(config: ServerConfig, logger: Logger = Logger(label: "tether")) throws {
        self.config = config
        self.logger = logger
        logsDebug = logger.logLevel <= .debug
        loop = try Loop()
        // In token mode a device hears only about ids it may message: presence goes to watchers.
        let presence = config.auth == .token && config.presence == .all ? PresenceMode.watchers : config.presence
        switchboard = Switchboard(presence: presence, allowClientBroadcast: config.allowClientBroadcast, maxWatched: config.maxWatched,
                                  keep: KeepRule(maxSeconds: config.maxOfflineTTLSeconds, defaultSeconds: config.offlineTTLSeconds),
                                  clustered: config.clusterURL != nil)
        cluster = try Server.makeCluster(config, loop: loop)
        trust = config.auth == .token ? try Server.makeTrust(config, cluster: cluster) : nil
        kept = try KeptStores.open(config, cluster: cluster, now: WallClock.milliseconds())
        localKept = kept as? LocalKeptStore
        deflatePolicy = config.deflate ? DeflatePolicy() : nil
        inflater = config.deflate ? MessageInflater(maxMessageBytes: config.maxMessageBytes) : nil
        if let certificate = config.tlsCertificateFile, let key = config.tlsKeyFile {
            tlsContext = try TLSContext(certificateFile: certificate, keyFile: key)
        } else {
            tlsContext = nil
        }
        qrCache = QRCache(maxEntries: config.qrCacheEntries)
        if config.maxConnectionsPerAddress > 0 || config.maxConnectsPerSecondPerAddress > 0 {
            addressLimits = AddressLimits(maxOpen: config.maxConnectionsPerAddress > 0 ? config.maxConnectionsPerAddress : Int.max,
                                          perSecond: config.maxConnectsPerSecondPerAddress)
        }
        heartbeat = HeartbeatPolicy(intervalMilliseconds: config.pingIntervalMilliseconds,
                                    timeoutMilliseconds: config.pingTimeoutMilliseconds)
        heartbeatWheel = TimingWheel(resolution: Server.sweepMilliseconds(config), now: loop.now)
        if config.maxMessagesPerSecond > 0 { rateLimiter = RateLimiter(perSecond: config.maxMessagesPerSecond) }
        if config.maxRendersPerSecondPerAddress > 0 { renderLimiter = RateLimiter(perSecond: config.maxRendersPerSecondPerAddress) }
        if config.apiKey != nil { ledger = DeviceLedger() }
        if config.console && config.apiKey != nil { console = OperatorConsole(server: self) }
        loop.context = Unmanaged.passUnretained(self).toOpaque()   // connections reach the server through it
    }

    static func makeTrust(_ config: ServerConfig, cluster: ClusterNode?) throws -> Trust {
        let keys = config.hmacKeys.map { VerificationKey.hmac(secret: $0.secret, kid: $0.kid) } + config.publicKeys
        let signer = config.hmacKeys.first.map { TokenSigner(hmacSecret: $0.secret, kid: $0.kid) }
        return Trust(verifier: TokenVerifier(keys: keys, leewaySeconds: Trust.leewaySeconds), signer: signer,
                     revocations: try RevocationStores.open(directory: config.stateDirectory, cluster: cluster))
    }

    /// The sweep runs often enough for the shortest deadline it enforces, at most every second.
    static func sweepMilliseconds(_ config: ServerConfig) -> UInt64 {
        max(10, min(1000, config.pingIntervalMilliseconds / 4, config.pingTimeoutMilliseconds / 4, config.closeTimeoutMilliseconds / 4,
                    config.handshakeTimeoutMilliseconds / 4))
    }

    /// Binds and starts accepting; returns the bound address.
    @discardableResult
    public func start() throws -> SocketAddress {
        // A peer that resets while we write makes write(2) raise SIGPIPE, which would end the
        // process: the error comes back as EPIPE instead and closes only that connection.
        signal(SIGPIPE, SIG_IGN)
        // A parent may have blocked these (it is inherited): the drain must hear them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGHUP)
        sigprocmask(SIG_UNBLOCK, &stopSignals, nil)
        let listener = try TCPListener(loop: loop, host: config.host, port: config.port, backlog: config.backlog, reusePort: config.reusePort)
        listener.makeConnection = { [unowned self] loop, socket throws(UVError) in
            let connection = try Connection(loop: loop, socket: socket, server: self)
            connectionCount += 1   // counted from creation, as connectionDidClose uncounts it
            return connection
        }
        // The peer comes from accept4: no getpeername for the per-address limits.
        listener.onConnection = { [unowned self] in accept($0 as! Connection, peer: $1.ip) }
        listener.onAcceptError = { [logger] error in
            logger.warning("accept failed, still serving open connections", metadata: ["error": "\(error)"])
        }
        // No Nagle delay, and a send buffer bounding what the kernel holds for a slow peer: set on
        // the listener, which every accepted socket inherits them from.
        try listener.setAcceptedSocketOptions(noDelay: true, sendBufferBytes: config.sendBufferBytes > 0
            ? min(config.sendBufferBytes, max(4096, config.maxQueuedBytes / 4)) : nil)
        self.listener = listener
        for number in [SIGINT, SIGTERM] {
            signals.append(try Signal(loop: loop, signal: number) { [unowned self] in stop() })
        }
        if tlsContext != nil {
            signals.append(try Signal(loop: loop, signal: SIGHUP) { [unowned self] in reloadCertificate() })
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
        startKeeping()
        // Twice a loop iteration (every paced message's wakeup): the server outlives its hooks
        // (closed with the loop), so it is borrowed each run, not retained. Only `run` drives a
        // started server's loop: a server dropped without it must not have its loop run again.
        let server = Unmanaged.passUnretained(self)
        tickHook = try TickHook(loop: loop) { server._withUnsafeGuaranteedRef { $0.endTick() } }
        if let cluster { startCluster(cluster) }
        let minute = try Timer(loop: loop)
        minute.start(afterMilliseconds: 60_000, repeatEvery: 60_000) { [unowned self] in logMinute() }
        minuteTimer = minute
        return listener.localAddress!
    }

    /// The tick hook's work: presence, kept messages, and the HTTP budget's reset.
    private func endTick() {
        flushPresence()
        settleKept()
        httpWorkThisTurn = 0
    }

    /// Runs the loop until stopped, then closes every handle.
    public func run() throws {
        loop.run()
        // What open connections never sent (a drain that timed out) is kept again first; in a
        // fleet that takes Redis, which gets a moment to answer before the links close.
        keepUnsentAtExit()
        cluster?.finishPending(within: 2000)
        cluster?.stop()
        closing.removeAll()
        overCap.removeAll()
        deferredInput.removeAll()
        deferredIdle = nil
        heartbeatWheel = TimingWheel(resolution: 1, now: 0)
        closeKept()
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

    private func accept(_ connection: Connection, peer: IPAddress?) {
        metrics.connectionsTotal += 1
        if connectionCount > config.maxConnections {
            connection.refusal = .serverFull
            if !refusing { logger.warning("at --max-connections \(config.maxConnections): answering 503") }
            refusing = true
        } else {
            refusing = false
            admitByAddress(connection, peer: peer)
        }
        // The request deadline first; once upgraded, the heartbeat takes over. The one wheel entry
        // may only move later (postponeCheck), so it starts no later than the first ping is due.
        connection.scheduleCheck(at: loop.now + min(config.handshakeTimeoutMilliseconds, config.pingIntervalMilliseconds))
        if let tlsContext {
            connection.isTLS = true
            tlsSessions[ObjectIdentifier(connection)] = TLSSession(context: tlsContext)
        }
        do {
            try connection.startReading()
        } catch {
            connection.close()
        }
    }

    /// The address per-address limits count `connection` under; nil when it is exempt (or unknown).
    func limitedAddress(of connection: Connection) -> IPAddress? {
        limited(connection.peerIP)
    }

    private func limited(_ address: IPAddress?) -> IPAddress? {
        guard let address, !config.limitExempt.contains(where: { $0.contains(address) }) else { return nil }
        return address
    }

    /// Counts the connection against its address, or marks it to be refused (503 or 429).
    private func admitByAddress(_ connection: Connection, peer: IPAddress?) {
        guard addressLimits != nil, let address = limited(peer) else { return }
        switch addressLimits!.admit(address, now: loop.now) {
        case .allow:
            countedAddress[ObjectIdentifier(connection)] = address
        case .tooMany:
            connection.refusal = .addressFull
            metrics.addressRefusals["open", default: 0] += 1
        case .tooFast:
            connection.refusal = .addressTooFast
            metrics.addressRefusals["rate", default: 0] += 1
        }
    }

    func connectionDidClose(_ connection: Connection) {
        let id = ObjectIdentifier(connection)
        // Looked up only when not empty: a lookup hashes the key even in an empty dictionary
        // (about 130 instructions each, five a connection).
        if !waitingInput.isEmpty { waitingInput[id] = nil }
        connectionCount -= 1
        if !closing.isEmpty { closing[id] = nil }
        if !overCap.isEmpty { overCap[id] = nil }
        if !deferredInput.isEmpty { deferredInput[id] = nil }
        if connection.isTLS { tlsSessions[id] = nil }
        if connection.awaitingKept || connection.holdsKept { keptConnectionClosed(connection) }
        closedSinceTrim += 1
        closedInWheel += 1
        rateLimiter?.forget(id)
        console?.forget(connection)
        if !countedAddress.isEmpty, let address = countedAddress.removeValue(forKey: id) { addressLimits?.release(address) }
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
            // The clock stops only once it drained well below the cap, so hovering at the cap
            // (what the kernel holds moves a little) does not reset it.
            if entry.connection.bytesHeldForPeer <= config.maxQueuedBytes / 2 {
                overCap[id] = nil
                entry.connection.resumeReading()
            } else if now - entry.since >= config.slowConsumerMilliseconds {
                overCap[id] = nil
                logger.debug("closing slow consumer", metadata: ["device": "\(entry.connection.deviceID ?? "")"])
                metrics.slowConsumerCloses += 1
                entry.connection.closeAsSlowConsumer()
            }
        }
        expireKept()
        if now - lastPrune >= 10_000 {
            lastPrune = now
            addressLimits?.prune(now: now)
        }
        // Closed connections leave the wheel in batches: a pass over it costs one look per
        // connection, paid once per quarter of the fleet closed (a mass disconnect stays linear).
        if closedInWheel > max(1024, connectionCount / 4) {
            closedInWheel = 0
            heartbeatWheel.removeAll { $0.isClosing }
        }
        // glibc keeps freed buffers (a slow consumer's backlog, pipelined answers) mapped; after
        // connections close, give them back so RSS follows what is really held (a few ms at most).
        if closedSinceTrim > 0 && now - lastTrim >= 2_000 {
            lastTrim = now
            closedSinceTrim = 0
            ProcessMemory.returnFreePages()
        }
    }

    /// SIGHUP: new connections use the certificate and key as they are on disk now; live ones keep
    /// theirs. A bad pair is logged and the old one stays.
    func reloadCertificate() {
        guard let tlsContext, let certificate = config.tlsCertificateFile, let key = config.tlsKeyFile else { return }
        do {
            try tlsContext.reload(certificateFile: certificate, keyFile: key)
            metrics.tlsReloads["ok", default: 0] += 1
            logger.info("TLS certificate reloaded")
        } catch {
            metrics.tlsReloads["failed", default: 0] += 1
            logger.error("TLS certificate reload failed; keeping the previous one", metadata: ["error": "\(error)"])
        }
    }

    /// Whether `connection`'s address may have one more QR code drawn now.
    func admitRender(for connection: Connection) -> Bool {
        guard renderLimiter != nil, let address = limitedAddress(of: connection) else { return true }
        guard renderLimiter!.admit(address, now: loop.now) == .allow else {
            metrics.addressRefusals["render", default: 0] += 1
            return false
        }
        return true
    }

    /// A recipient is busy while what is held for it is over the cap; the first time, the clock starts.
    func isBusy(_ recipient: Connection) -> Bool {
        guard recipient.bytesHeldForPeer > config.maxQueuedBytes else { return false }
        noteOverCap(recipient)
        return true
    }

    /// `connection` went over the queued-bytes cap now (unless it already was).
    func noteOverCap(_ connection: Connection) {
        let id = ObjectIdentifier(connection)
        if overCap[id] == nil { overCap[id] = (connection, loop.now) }
    }

    // MARK: Turn budget

    /// Work one connection's pipelined requests may take in one loop turn, and all connections'
    /// HTTP work together (WebSocket traffic is never put off: it is what latency is measured on).
    static let turnBudgetNanoseconds: UInt64 = 1_000_000
    static let turnBudgetAllNanoseconds: UInt64 = 2_000_000

    func turnClock() -> UInt64 { loop.preciseNanoseconds }

    /// Charges the HTTP work since `start` to this turn; true once either budget is spent.
    func turnBudgetSpent(since start: UInt64) -> Bool {
        let now = loop.preciseNanoseconds
        let used = now - start
        return used > Server.turnBudgetNanoseconds || httpWorkThisTurn + used > Server.turnBudgetAllNanoseconds
    }

    /// End of a request's handling: its time counts toward the turn's shared budget.
    func chargeHTTPWork(since start: UInt64) {
        httpWorkThisTurn += loop.preciseNanoseconds - start
    }

    /// Keeps `bytes` for a later turn and stops reading `connection` until they are served.
    func deferInput(_ connection: Connection, _ bytes: UnsafeRawBufferPointer) {
        metrics.deferredRequests += 1
        let id = ObjectIdentifier(connection)
        // A deferred connection is not read, and its entry is taken before it consumes again: new.
        deferredInput[id] = (connection, Array(bytes))
        deferredOrder.append(id)
        connection.pauseReading()
        scheduleDeferred()
    }

    func hasDeferredInput(_ connection: Connection) -> Bool { deferredInput[ObjectIdentifier(connection)] != nil }

    private func scheduleDeferred() {
        if deferredIdle == nil { deferredIdle = try? Idle(loop: loop) { [unowned self] in serveDeferred() } }
        deferredIdle?.start()
    }

    /// Once per iteration while input waits: deferred connections take turns, in the order they
    /// were put off, until the turn's shared budget is spent; the rest waits for the next iteration.
    private func serveDeferred() {
        httpWorkThisTurn = 0
        var queue = deferredOrder
        deferredOrder.removeAll()
        var index = 0
        while index < queue.count {
            let id = queue[index]
            index += 1
            guard let entry = deferredInput.removeValue(forKey: id), !entry.connection.isClosing else { continue }
            var copy = entry.bytes
            copy.withUnsafeMutableBytes { entry.connection.consume($0) }
            entry.connection.applyBackpressure()
            entry.connection.resumeReading()
            if httpWorkThisTurn > Server.turnBudgetAllNanoseconds { break }
        }
        // Those not reached go first next time; those served and put off again go last.
        deferredOrder = queue[index...].filter { deferredInput[$0] != nil } + deferredOrder
        queue.removeAll()
        if deferredInput.isEmpty { deferredIdle?.stop() }
    }
}
