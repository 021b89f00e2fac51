import UV

/// The client's state on its loop thread: one socket at a time, reconnects with backoff, the
/// presence map, sends waiting for a link or a reply. The same rules as the JavaScript client.
/// Only its loop thread touches it (hence `@unchecked Sendable`: jobs carry it there).
final class Link: ClientSocketDelegate, @unchecked Sendable {
    typealias Completion = @Sendable (Result<JSONValue, TetherError>) -> Void

    private enum Phase { case connecting, open, waiting, stopped, closed }

    /// A send or command, queued or on the wire.
    private final class Outgoing {
        let id: Int
        let to: String
        let msg: JSONValue
        let data: JSONValue?
        let isCommand: Bool
        let done: Completion
        /// Seconds the server may keep it for an offline recipient.
        var ttl: Int?
        var timer: UV.Timer?

        init(id: Int, to: String, msg: JSONValue, data: JSONValue?, isCommand: Bool, done: @escaping Completion) {
            (self.id, self.to, self.msg, self.data, self.isCommand, self.done) = (id, to, msg, data, isCommand, done)
        }
    }

    private let loop: Loop
    private let address: ServerAddress
    private let deviceID: String
    private var token: String?
    private let options: TetherClient.Options
    private let output: Output
    private var watched: [String] = []
    private(set) var presence: [String: DeviceState] = [:]
    private var phase = Phase.connecting
    private var socket: ClientSocket?
    private var attempt = 0
    private var nextID = 1
    private var queue: [Outgoing] = []
    private var pending: [Int: Outgoing] = [:]
    private var lastHeard: UInt64 = 0
    private var retryTimer, connectTimer, probeTimer, stableTimer: UV.Timer?
    private var closingSocket: ClientSocket?   // after close(): cut if the server does not answer
    private var closingTimer: UV.Timer?

    init(loop: Loop, address: ServerAddress, deviceID: String, token: String?, watch: [String],
         options: TetherClient.Options, output: Output) {
        self.loop = loop
        self.address = address
        self.deviceID = deviceID
        self.token = token
        self.options = options
        self.output = output
        add(watch)
    }

    var isConnected: Bool { phase == .open }

    // MARK: Commands from the public API

    func open() {
        guard socket == nil, phase != .closed else { return }
        cancel(&retryTimer)
        setPhase(.connecting, .connecting)
        let resolved: SocketAddress
        do { resolved = try address.resolve() } catch { return retry(code: 1006, reason: error.message) }
        let socket = ClientSocket(delegate: self)
        self.socket = socket
        connectTimer = after(options.connectTimeout) { [unowned self] in giveUp(socket, reason: "no answer to the handshake") }
        socket.connect(loop: loop, address: resolved, host: address.hostHeader, path: address.devicePath(id: deviceID, token: token))
    }

    func send(to: String, msg: JSONValue, queue useQueue: Bool, ttl: Int? = nil, done: @escaping Completion) {
        let entry = Outgoing(id: takeID(), to: to, msg: msg, data: nil, isCommand: false, done: done)
        entry.ttl = ttl
        if phase == .open { return transmit(entry) }
        let holding = phase == .connecting || phase == .waiting
        guard useQueue, holding else {
            return done(.failure(phase == .closed ? closedError(entry.id) : TetherError(.notConnected, "not connected to the server", id: entry.id)))
        }
        guard queue.count < options.queueLimit else {
            return done(.failure(TetherError(.queueFull, "over \(options.queueLimit) sends wait for the link", id: entry.id)))
        }
        queue.append(entry)
    }

    func command(_ msg: String, data: JSONValue?, done: @escaping Completion) {
        let entry = Outgoing(id: takeID(), to: "server", msg: .string(msg), data: data, isCommand: true, done: done)
        guard phase == .open else {
            return done(.failure(phase == .closed ? closedError(entry.id) : TetherError(.notConnected, "not connected to the server", id: entry.id)))
        }
        transmit(entry)
    }

    func watch(_ ids: [String]) {
        let added = add(ids)
        if phase == .open, !added.isEmpty { queryPresence(added) }
    }

    func unwatch(_ ids: [String]) {
        let gone = Set(ids)
        watched.removeAll { gone.contains($0) }
        for id in gone { presence[id] = nil }
    }

    func refresh(token fresh: String, done: @escaping Completion) {
        guard phase == .open else {
            token = fresh   // proved at the next connect
            return done(.success(.null))
        }
        command("refresh", data: ["token": .string(fresh)]) { [unowned self] result in
            if case .success = result { token = fresh }
            done(result)
        }
    }

    /// Leaves for good: a normal close, everything waiting refused, the streams finished.
    func close() {
        guard phase != .closed else { return }
        let leaving = socket
        socket = nil
        stopTimers()
        refuseAll { self.closedError($0) }
        setPhase(.closed, .closed)
        output.finish()
        guard let leaving else { return }
        leaving.close()
        // The server answers a close at once; one that does not is cut, so the loop can end.
        closingTimer = after(.seconds(2)) { leaving.abort(reason: "no answer to the close") }
        closingSocket = leaving
    }

    // MARK: ClientSocketDelegate

    func socketDidOpen(_ socket: ClientSocket) {
        guard socket === self.socket else { return }
        cancel(&connectTimer)
        lastHeard = loop.now
        let half = UInt64(max(1, options.probeInterval.milliseconds / 2))
        probeTimer = try? UV.Timer(loop: loop)
        probeTimer?.start(afterMilliseconds: half, repeatEvery: half) { [unowned self] in probe() }
        stableTimer = after(options.stableAfter) { [unowned self] in attempt = 0 }
        setPhase(.open, .open)
        // Asked after every connect: what changed during a gap is learned here.
        if !watched.isEmpty { queryPresence(watched) }
        let waiting = queue
        queue = []
        for entry in waiting { transmit(entry) }
    }

    func socket(_ socket: ClientSocket, didReceive text: String) {
        guard socket === self.socket else { return }
        lastHeard = loop.now
        guard let frame = JSONValue(parsing: text) else { return }
        switch FrameKind(frame, selfID: deviceID) {
        case .reply:
            replied(frame)
        case .presence:
            if let id = frame["from"]?.stringValue, presence[id] != nil, let state = frame["msg"]?.stringValue {
                learn(id, state == "online" ? .online : .offline, announced: true)
            }
        case .message, .server:
            output.messages.yield(TetherMessage(from: frame["from"]?.stringValue ?? "", to: frame["to"]?.stringValue ?? "",
                                                msg: frame["msg"] ?? .null, frame: frame))
        case .ignore:
            break
        }
    }

    func socket(_ socket: ClientSocket, didCloseWith code: UInt16, reason: String) {
        if socket === closingSocket {
            cancel(&closingTimer)
            closingSocket = nil
        }
        guard socket === self.socket else { return }
        dropped(code: code, reason: reason)
    }

    // MARK: The link

    private func dropped(code: UInt16, reason: String) {
        socket = nil
        stopTimers()
        refusePending(TetherError(.linkLost, "the link dropped before the reply window ended; delivery unknown"))
        guard let stop = StopReason(closeCode: code) else { return retry(code: code, reason: reason) }
        let entries = queue
        queue = []
        for entry in entries { entry.done(.failure(TetherError(.notConnected, "stopped: \(stop.rawValue)", id: entry.id))) }
        setPhase(.stopped, .stopped(stop))
    }

    private func retry(code: UInt16, reason: String) {
        let delay = options.backoff.delay(attempt: attempt)
        setPhase(.waiting, .waiting(delay: delay, attempt: attempt, code: code, reason: reason))
        attempt += 1
        retryTimer = after(delay) { [unowned self] in open() }
    }

    // Silent too long: ask the server something; silent again after that, give the link up
    // (a dropped network sends no close).
    private func probe() {
        let silent = Int64(loop.now - lastHeard)
        let interval = options.probeInterval.milliseconds
        if silent > interval * 3 / 2 {
            if let socket { giveUp(socket, reason: "no answer to the probe") }
        } else if silent > interval / 2 {
            queryPresence(watched.isEmpty ? [deviceID] : watched)
        }
    }

    private func giveUp(_ socket: ClientSocket, reason: String) {
        guard socket === self.socket else { return }
        dropped(code: 1006, reason: reason)
        socket.abort(reason: reason)
    }

    private func replied(_ frame: JSONValue) {
        guard let id = frame["id"]?.intValue, let entry = pending.removeValue(forKey: id) else {
            output.events.yield(.reply(frame))
            return
        }
        cancel(&entry.timer)
        let status = frame["status"]?.intValue
        if status == 8 && !entry.isCommand {   // kept for an offline recipient
            entry.done(.success(.number(Double(id))))
        } else if status != 0 {
            entry.done(.failure(TetherError(reply: frame)))
        } else {
            entry.done(.success(entry.isCommand ? frame : .number(Double(id))))
        }
    }

    private func queryPresence(_ ids: [String]) {
        for start in stride(from: 0, to: ids.count, by: 100) {
            let asked = Array(ids[start..<min(start + 100, ids.count)])
            command("queryStatus", data: .array(asked.map { .string($0) })) { [unowned self] result in
                guard case .success(let reply) = result, let states = reply["data"]?.objectValue else { return }
                for id in asked where presence[id] != nil {
                    switch states[id]?.stringValue {
                    case "online": learn(id, .online, announced: false)
                    case "offline": learn(id, .offline, announced: false)
                    default: break   // token mode leaves out ids this device may not message
                    }
                }
            }
        }
    }

    private func learn(_ id: String, _ state: DeviceState, announced: Bool) {
        let previous = presence[id] ?? .unknown
        presence[id] = state
        output.presence.yield(PresenceChange(id: id, state: state, previous: previous, announced: announced))
    }

    private func transmit(_ entry: Outgoing) {
        var frame: [String: JSONValue] = ["from": .string(deviceID), "to": .string(entry.to), "msg": entry.msg, "id": .number(Double(entry.id))]
        if let data = entry.data { frame["data"] = data }
        if let ttl = entry.ttl { frame["ttl"] = .number(Double(ttl)) }
        socket?.send(text: JSONValue.object(frame).jsonText)
        pending[entry.id] = entry
        let window = entry.isCommand ? TetherClient.Options.commandTimeout : options.replyWindow
        entry.timer = after(window) { [unowned self] in
            guard pending.removeValue(forKey: entry.id) != nil else { return }
            entry.timer = nil
            if entry.isCommand {
                entry.done(.failure(TetherError(.timeout, "the server did not answer \(entry.msg.stringValue ?? "")", id: entry.id)))
            } else {
                entry.done(.success(.number(Double(entry.id))))
            }
        }
    }

    // MARK: Helpers

    @discardableResult
    private func add(_ ids: [String]) -> [String] {
        let added = ids.filter { DeviceID.isValid($0) && presence[$0] == nil }
        for id in added where presence[id] == nil {
            presence[id] = .unknown
            watched.append(id)
        }
        return added
    }

    private func takeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    private func closedError(_ id: Int) -> TetherError { TetherError(.closed, "the client was closed", id: id) }

    private func refusePending(_ error: TetherError) {
        let entries = pending.values.sorted { $0.id < $1.id }
        pending = [:]
        for entry in entries {
            cancel(&entry.timer)
            var refusal = error
            refusal.id = entry.id
            entry.done(.failure(refusal))
        }
    }

    private func refuseAll(_ error: (Int) -> TetherError) {
        refusePending(error(0))
        let entries = queue
        queue = []
        for entry in entries { entry.done(.failure(error(entry.id))) }
    }

    private func setPhase(_ phase: Phase, _ event: LinkEvent) {
        self.phase = phase
        output.events.yield(event)
    }

    private func stopTimers() {
        cancel(&retryTimer)
        cancel(&connectTimer)
        cancel(&probeTimer)
        cancel(&stableTimer)
    }

    /// A one-shot timer that closes itself once it fires.
    private func after(_ delay: Duration, _ body: @escaping () -> Void) -> UV.Timer? {
        guard let timer = try? UV.Timer(loop: loop) else { return nil }
        timer.start(afterMilliseconds: UInt64(max(0, delay.milliseconds))) { [unowned timer] in
            timer.close()
            body()
        }
        return timer
    }

    private func cancel(_ timer: inout UV.Timer?) {
        timer?.close()
        timer = nil
    }
}

/// Where the link's news goes: the client's three streams.
struct Output: Sendable {
    let messages: AsyncStream<TetherMessage>.Continuation
    let presence: AsyncStream<PresenceChange>.Continuation
    let events: AsyncStream<LinkEvent>.Continuation

    func finish() {
        messages.finish()
        presence.finish()
        events.finish()
    }
}
