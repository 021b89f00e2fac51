import UV

/// The link to one Redis: commands pipelined, replies matched to callbacks in order.
///
/// Written by hand over UV rather than linking hiredis: it must run on the server's own loop and
/// send each tick's commands in one write, as the cork does for devices.
///
/// `start()` connects; the link is up once Redis answers the handshake (PING, or SELECT when the
/// URL names a database), since a frozen Redis still accepts TCP connections. When the link is
/// lost (closed, reset, a reply later than `commandTimeout`, bytes that are not RESP) every
/// waiting callback gets `.failure`, `onStateChange` says `.disconnected`, and it reconnects after
/// a jittered backoff, running `onConnect` again. Callbacks are never called from inside `send`,
/// except after `close()`.
public final class RedisConnection {
    public let loop: Loop
    public let url: RedisURL
    public let options: RedisOptions

    /// Runs after each (re)connect, before `onStateChange(.connected)`; commands sent here go out
    /// first. The cluster restores its claims here.
    public var onConnect: ((RedisConnection) -> Void)?
    /// Reports each change: up, or down and why (not each failed reconnect attempt: see `lastError`).
    public var onStateChange: ((RedisLinkState) -> Void)?

    public private(set) var isConnected = false
    /// Why the link is down, or the last reconnect attempt failed; nil while up.
    public private(set) var lastError: RedisError?
    /// Successful connects so far (scripts are loaded once per epoch).
    public private(set) var connectionEpoch = 0
    /// Socket writes made: each carries every command one loop iteration sent.
    public private(set) var writeCount = 0
    /// Commands sent whose replies have not come.
    public var waitingReplies: Int { waiting.count }

    /// Claims replies that answer no command (pub/sub messages); returns true for those.
    var claimUnsolicited: ((RedisReply) -> Bool)?

    private enum Phase { case idle, connecting, handshaking, connected, waitingToReconnect, closed }

    private let address: SocketAddress
    private var phase = Phase.idle
    private var socket: DelegatingConnection?
    /// Bumped whenever a socket is given up, so its late events and replies are ignored.
    private var generation = 0
    private var attempt = 0
    private var decoder: RESPDecoder
    private var outgoing: [UInt8] = []
    private var waiting = ReplyQueue()
    /// Callbacks of commands sent while the link was down, failed at the next flush.
    private var refused: [(RedisReply) -> Void] = []
    private var flushScheduled = false
    private var deadlineArmed = false
    private var connectDeadline: UInt64 = 0

    /// Writes each iteration's commands once its I/O callbacks are done.
    private var flushHook: TickHook?
    /// Flushes commands sent after this iteration's hook already ran (check handles run newest first).
    private let flushTimer: Timer
    private let deadlineTimer: Timer
    private let reconnectTimer: Timer
    private let pingTimer: Timer

    /// Throws when the host is not an IP address or `localhost` (names are not resolved here).
    public init(loop: Loop, url: RedisURL, options: RedisOptions = RedisOptions()) throws(UVError) {
        self.loop = loop
        self.url = url
        self.options = options
        address = try SocketAddress(host: url.host == "localhost" ? "127.0.0.1" : url.host, port: url.port)
        decoder = RESPDecoder(limits: options.limits)
        flushTimer = try Timer(loop: loop)
        deadlineTimer = try Timer(loop: loop)
        reconnectTimer = try Timer(loop: loop)
        pingTimer = try Timer(loop: loop)
        flushHook = try TickHook(loop: loop) { [weak self] in self?.flush() }
    }

    deinit { close() }

    /// Starts connecting (once; later calls do nothing).
    public func start() {
        guard phase == .idle else { return }
        connect()
    }

    /// Queues `command` to go out at the end of this loop iteration with every other command sent
    /// meanwhile; `reply` gets its reply, or `.failure` if the link was down or went down first.
    public func send(_ command: [[UInt8]], reply: @escaping (RedisReply) -> Void) {
        send(command, timeout: options.commandTimeout, reply: reply)
    }

    /// As `send(_:reply:)` with its own deadline, for commands that block on purpose (XREAD BLOCK).
    /// Later commands wait for at least as long, since their replies come after this one.
    public func send(_ command: [[UInt8]], timeout: Duration, reply: @escaping (RedisReply) -> Void) {
        send(command, timeout: timeout, replyCount: 1, reply: reply)
    }

    /// A command answered by `replyCount` replies (SUBSCRIBE of n channels): `reply` gets the last.
    func send(_ command: [[UInt8]], timeout: Duration? = nil, replyCount: Int, reply: @escaping (RedisReply) -> Void) {
        send({ RESPEncoder.encode(command, into: &$0) }, timeout: timeout, replyCount: replyCount, reply: reply)
    }

    /// As `send(_:reply:)` for a command already encoded argument by argument, in parts (each
    /// written once, where joining them first would copy them again).
    public func send(_ parts: [RESPCommand], reply: @escaping (RedisReply) -> Void) {
        send({ RESPCommand.encode(parts, into: &$0) }, timeout: nil, replyCount: 1, reply: reply)
    }

    private func send(_ encode: (inout [UInt8]) -> Void, timeout: Duration?, replyCount: Int, reply: @escaping (RedisReply) -> Void) {
        switch phase {
        case .closed:
            reply(.failure(.closed))
        case .connected:
            enqueue(encode, timeout: (timeout ?? options.commandTimeout).wholeMilliseconds, replyCount: replyCount, reply)
        default:
            refused.append(reply)
            scheduleFlush()
        }
    }

    /// Stops for good: the socket and timers close, waiting callbacks get `.failure(.closed)`.
    public func close() {
        guard phase != .closed else { return }
        let wasConnected = phase == .connected
        phase = .closed
        generation += 1
        isConnected = false
        lastError = .closed
        socket?.close()
        socket = nil
        for handle in [flushHook, flushTimer, deadlineTimer, reconnectTimer, pingTimer] as [Handle?] { handle?.close() }
        flushHook = nil
        outgoing = []
        let failed = waiting.takeAll()
        let refusedNow = refused
        refused = []
        let stateChange = onStateChange
        onConnect = nil   // they often capture whoever owns this connection
        onStateChange = nil
        claimUnsolicited = nil
        if wasConnected { stateChange?(.disconnected(.closed)) }
        for entry in failed { entry.callback(.failure(.closed)) }
        for callback in refusedNow { callback(.failure(.closed)) }
    }

    // MARK: Connecting

    private func connect() {
        phase = .connecting
        generation += 1
        let generation = self.generation
        decoder = RESPDecoder(limits: options.limits)
        let timeout = options.commandTimeout.wholeMilliseconds
        connectDeadline = loop.now + timeout
        armDeadline(after: timeout)
        DelegatingConnection.connect(loop: loop, to: address) { [weak self] result in
            guard let self, self.generation == generation, self.phase == .connecting else {
                if case .success(let late) = result { late.close() }
                return
            }
            switch result {
            case .failure(let error): linkDown(.connectFailed(error))
            case .success(let socket): didConnect(socket, generation: generation)
            }
        }
    }

    private func didConnect(_ socket: DelegatingConnection, generation: Int) {
        socket.delegate = SocketEvents(owner: self, generation: generation)
        self.socket = socket
        try? socket.setNoDelay(true)
        do {
            try socket.startReading()
        } catch {
            return linkDown(.connectFailed(error))
        }
        phase = .handshaking
        let handshake: [[UInt8]] = url.database.map { [Array("SELECT".utf8), Array(String($0).utf8)] } ?? [Array("PING".utf8)]
        enqueue({ RESPEncoder.encode(handshake, into: &$0) }, timeout: options.commandTimeout.wholeMilliseconds, replyCount: 1) { [weak self] reply in
            guard let self, self.generation == generation else { return }
            switch reply {
            case .failure: return   // already handled as the link going down
            case .error(let text): linkDown(.handshakeRefused(text))
            default: becomeConnected()
            }
        }
    }

    private func becomeConnected() {
        phase = .connected
        isConnected = true
        attempt = 0
        lastError = nil
        connectionEpoch += 1
        if let interval = options.pingInterval?.wholeMilliseconds, interval > 0 {
            pingTimer.start(afterMilliseconds: interval, repeatEvery: interval) { [weak self] in self?.pingIfIdle() }
        }
        onConnect?(self)
        if phase == .connected { onStateChange?(.connected) }
    }

    /// Gives the socket up: everything waiting fails with `error`, and a reconnect is scheduled.
    private func linkDown(_ error: RedisError) {
        switch phase {
        case .connecting, .handshaking, .connected: break
        case .idle, .waitingToReconnect, .closed: return
        }
        let wasConnected = phase == .connected
        generation += 1
        isConnected = false
        lastError = error
        socket?.closeWithReset()   // a frozen or confused peer gets nothing more from us
        socket = nil
        outgoing.removeAll()
        pingTimer.stop()
        let failed = waiting.takeAll()
        phase = .waitingToReconnect
        let delay = options.backoff.delayMilliseconds(attempt: attempt)
        attempt += 1
        reconnectTimer.start(afterMilliseconds: delay) { [weak self] in
            guard let self, phase == .waitingToReconnect else { return }
            connect()
        }
        if wasConnected { onStateChange?(.disconnected(error)) }
        for entry in failed { entry.callback(.failure(error)) }
    }

    // MARK: Sending

    private func enqueue(_ encode: (inout [UInt8]) -> Void, timeout: UInt64, replyCount: Int, _ callback: @escaping (RedisReply) -> Void) {
        encode(&outgoing)
        let now = loop.now
        // Replies come in order, so no deadline may come before the one of a command ahead of it.
        let deadline = max(now + timeout, waiting.last?.deadline ?? 0)
        for _ in 1..<max(replyCount, 1) { waiting.append(.init(deadline: deadline, callback: { _ in })) }
        waiting.append(.init(deadline: deadline, callback: callback))
        if !deadlineArmed { armDeadline(after: deadline - now) }
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        flushTimer.start(afterMilliseconds: 0) { [weak self] in self?.flush() }
    }

    /// Writes everything this iteration sent in one write; fails what was sent while down.
    private func flush() {
        guard flushScheduled else { return }
        flushScheduled = false
        flushTimer.stop()
        if !refused.isEmpty {
            let callbacks = refused
            refused = []
            for callback in callbacks { callback(.failure(.notConnected)) }
        }
        guard !outgoing.isEmpty, let socket else { return }
        let written = outgoing.withUnsafeBytes { socket.write($0) }
        writeCount += 1
        outgoing.removeAll(keepingCapacity: outgoing.capacity <= 1 << 20)
        if !written { linkDown(.disconnected(nil)) }
    }

    private func pingIfIdle() {
        guard phase == .connected, waiting.isEmpty else { return }
        enqueue({ RESPEncoder.encode([Array("PING".utf8)], into: &$0) }, timeout: options.commandTimeout.wholeMilliseconds, replyCount: 1) { _ in }
    }

    // MARK: Deadlines

    private func armDeadline(after milliseconds: UInt64) {
        deadlineArmed = true
        deadlineTimer.start(afterMilliseconds: milliseconds) { [weak self] in self?.checkDeadline() }
    }

    /// One timer serves every command: it is armed for the oldest reply's deadline only.
    private func checkDeadline() {
        deadlineArmed = false
        let now = loop.now
        switch phase {
        case .connecting:
            if now >= connectDeadline { return linkDown(.timedOut) }
            armDeadline(after: connectDeadline - now)
        case .handshaking, .connected:
            guard let oldest = waiting.first else { return }
            if now >= oldest.deadline { return linkDown(.timedOut) }
            armDeadline(after: oldest.deadline - now)
        case .idle, .waitingToReconnect, .closed:
            return
        }
    }

    // MARK: Receiving

    fileprivate func socketDidRead(_ bytes: UnsafeMutableRawBufferPointer, generation: Int) {
        guard generation == self.generation else { return }
        do {
            // Replies are handed out while decoding; nothing reached from them replaces the decoder.
            try decoder.feed(UnsafeRawBufferPointer(bytes)) { reply in
                guard generation == self.generation else { return false }
                deliver(reply)
                return generation == self.generation
            }
        } catch {
            if generation == self.generation { linkDown(.protocolViolation(error)) }
        }
    }

    private func deliver(_ reply: RedisReply) {
        if let claim = claimUnsolicited, claim(reply) { return }
        if case .push = reply { return }   // RESP3 out-of-band data nobody asked for
        guard !waiting.isEmpty else { return linkDown(.unexpectedReply) }
        waiting.removeFirst().callback(reply)
    }

    fileprivate func socketDidEnd(_ error: UVError?, generation: Int) {
        guard generation == self.generation else { return }
        linkDown(.disconnected(error))
    }
}

/// The link's state as reported to `onStateChange`.
public enum RedisLinkState: Equatable, Sendable {
    case connected
    case disconnected(RedisError)
}

/// Hands one socket's events to its connection, tagged with the generation they belong to.
private final class SocketEvents: TCPConnectionDelegate {
    weak var owner: RedisConnection?
    let generation: Int

    init(owner: RedisConnection, generation: Int) {
        self.owner = owner
        self.generation = generation
    }

    func connection(_ connection: DelegatingConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        owner?.socketDidRead(bytes, generation: generation)
    }

    func connection(_ connection: DelegatingConnection, didEndWith error: UVError?) {
        connection.close()
        owner?.socketDidEnd(error, generation: generation)
    }
}
