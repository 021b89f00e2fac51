import Auth
import Switchboard
import TLS
import UV
import WebSocket

/// One socket's life: HTTP request head, then either plain HTTP responses or a WebSocket
/// (upgrade, frames, close), then a bounded wait for the peer to finish closing. It is the TCP
/// connection itself (a subclass), so an idle connection is one object besides libuv's handle.
final class Connection: TCPConnection, SwitchboardPeer {
    // Stored fields are ordered so an idle connection packs tightly (see the loop times below).
    /// The server outlives every connection (it closes them all before it goes); it is the loop's
    /// context, so no connection stores it.
    var server: Server { Unmanaged<Server>.fromOpaque(loopContext.unsafelyUnwrapped).takeUnretainedValue() }

    /// The server, borrowed for `body`: fields it holds (metrics, switchboard) are then read
    /// without the retain and release each read through `server` costs (about 40 instructions).
    @inline(__always)
    func withServer<Result>(_ body: (Server) throws -> Result) rethrows -> Result {
        try Unmanaged<Server>.fromOpaque(loopContext.unsafelyUnwrapped)._withUnsafeGuaranteedRef(body)
    }
    /// Loop time of the last bytes received.
    var lastSeen: UInt64 {
        get { widen(lastSeenBits) }
        set { lastSeenBits = UInt32(truncatingIfNeeded: newValue) }
    }
    /// Loop time of the unanswered ping (0: none).
    var pingSentAt: UInt64 {
        get { flags.contains(.pingPending) ? widen(markBits) : 0 }
        set {
            flags.set(.pingPending, newValue != 0)
            if newValue != 0 { markBits = UInt32(truncatingIfNeeded: newValue) }
        }
    }
    /// When the current HTTP request began (accept, or the previous keep-alive answer).
    var requestSince: UInt64 {
        get { widen(markBits) }
        set { markBits = UInt32(truncatingIfNeeded: newValue) }
    }
    /// When the sweep should look at this connection next (its one wheel entry may be earlier: it
    /// then files itself again for this time).
    var nextCheck: UInt64 {
        get { widen(nextCheckBits) }
        set { nextCheckBits = UInt32(truncatingIfNeeded: newValue) }
    }

    /// A loop time from its low 32 bits, read against the loop's clock: every time kept here is
    /// within a few days of now (timeouts are at most a day, and a silent connection is closed),
    /// far inside the 24 days either way that 32 bits tell apart.
    @inline(__always)
    private func widen(_ bits: UInt32) -> UInt64 {
        let now = loopNow
        let offset = Int64(Int32(bitPattern: bits &- UInt32(truncatingIfNeeded: now)))
        return UInt64(bitPattern: Int64(bitPattern: now) &+ offset)
    }

    /// The small facts (`isEcho` and the others below `state`), in one word (an idle connection's
    /// size is what fleets pay for).
    private var flags = Flags(rawValue: 0)
    // Loop times, 32 bits each (see `widen`). Declared first with `flags`, so the four fill the
    // bytes after the connection's 41 (up to 56) and the 13-byte `state` comes last: 85 bytes in
    // all, a 96-byte heap chunk.
    private var lastSeenBits: UInt32
    private var nextCheckBits: UInt32
    /// `requestSince` while HTTP, `pingSentAt` once a WebSocket (never both at once).
    private var markBits: UInt32

    /// The device this connection speaks for (nil for HTTP and /echo); set by the switchboard.
    var deviceID: String?
    /// The TLS session on a `--tls-cert` server (nil on a plain one), kept by the server so a
    /// plain server's connections carry no slot for it.
    var tls: TLSSession? { isTLS ? server.tlsSessions[ObjectIdentifier(self)] : nil }

    enum State {
        case http(RequestHeadParser)
        /// A request body being read (Content-Length), then the request is answered.
        case body(PendingBody)
        /// A WebSocket; between messages (the idle case) it keeps no decoder at all.
        case webSocket(PartialMessage?)
        /// A close was sent or the request was answered for good: input is discarded until EOF.
        case closing
        /// An answer from the fleet (a claim, a status lookup) is awaited: input is held until then.
        case waiting
        /// The console's live stream (server-sent events): written to each second; input is discarded.
        case stream
    }
    var state = State.http(RequestHeadParser())

    var isEcho: Bool { get { flags.contains(.echo) } set { flags.set(.echo, newValue) } }
    /// An accepted WebSocket that has not started closing (`state` may be borrowed while decoding).
    var isOpen: Bool { get { flags.contains(.open) } set { flags.set(.open, newValue) } }
    /// The 101 was sent: what this connection writes from then on is WebSocket frames.
    var upgraded: Bool { get { flags.contains(.upgraded) } set { flags.set(.upgraded, newValue) } }
    /// Not read from while its own outbound queue is over the cap (backpressure).
    var readPaused: Bool { get { flags.contains(.readPaused) } set { flags.set(.readPaused, newValue) } }
    /// Its `online` may still be waiting for the end of the tick: its first message must not overtake it.
    var announcePending: Bool { get { flags.contains(.announcePending) } set { flags.set(.announcePending, newValue) } }
    /// permessage-deflate was agreed at the handshake (RFC 7692).
    var deflates: Bool { get { flags.contains(.deflates) } set { flags.set(.deflates, newValue) } }
    var isTLS: Bool { get { flags.contains(.tls) } set { flags.set(.tls, newValue) } }
    /// Registered with messages kept for it that are not out yet: routed messages wait behind them.
    var awaitingKept: Bool { get { flags.contains(.awaitingKept) } set { flags.set(.awaitingKept, newValue) } }
    /// Kept messages were handed to it that its socket has not fully taken yet.
    var holdsKept: Bool { get { flags.contains(.holdsKept) } set { flags.set(.holdsKept, newValue) } }
    /// Accepted over a limit: every request is answered with this refusal.
    var refusal: Refusal {
        get { Refusal(rawValue: UInt8(flags.rawValue >> 8 & 0x3)) ?? .none }
        set { flags = Flags(rawValue: flags.rawValue & ~0x300 | UInt16(newValue.rawValue) << 8) }
    }
    /// The server's LZ77 window for this connection's compressed messages (8-15).
    var serverWindowBits: UInt8 {
        get { UInt8(flags.rawValue >> 10 & 0xF) == 0 ? 15 : UInt8(flags.rawValue >> 10 & 0xF) }
        set { flags = Flags(rawValue: flags.rawValue & ~0x3C00 | UInt16(newValue & 0xF) << 10) }
    }

    struct Flags: OptionSet {
        let rawValue: UInt16
        static let echo = Flags(rawValue: 1 << 0)
        static let open = Flags(rawValue: 1 << 1)
        static let upgraded = Flags(rawValue: 1 << 2)
        static let readPaused = Flags(rawValue: 1 << 3)
        static let announcePending = Flags(rawValue: 1 << 4)
        static let deflates = Flags(rawValue: 1 << 5)
        static let tls = Flags(rawValue: 1 << 6)
        static let awaitingKept = Flags(rawValue: 1 << 7)
        static let holdsKept = Flags(rawValue: 1 << 14)
        static let pingPending = Flags(rawValue: 1 << 15)
        // bits 8-9: refusal; bits 10-13: server window bits

        mutating func set(_ flag: Flags, _ on: Bool) {
            if on { insert(flag) } else { remove(flag) }
        }
    }

    enum Refusal: UInt8 {
        case none, serverFull, addressFull, addressTooFast
    }

    init(loop: Loop, socket: Int32, server: Server) throws(UVError) {
        assert(loop.context == Unmanaged.passUnretained(server).toOpaque())
        let now = UInt32(truncatingIfNeeded: loop.now)
        lastSeenBits = now
        nextCheckBits = now
        markBits = now
        try super.init(loop: loop, socket: socket)
    }

    // MARK: Socket events

    override func didRead(_ bytes: UnsafeMutableRawBufferPointer) {
        lastSeen = loopNow
        withServer { $0.metrics.bytesIn += UInt64(bytes.count) }
        // The flags first: a plain WebSocket's read (the routed message) skips both calls.
        if isTLS, let tls {
            readTLS(tls, bytes)
        } else if upgraded || !refuseTLSOnPlainPort(bytes) {   // a ClientHello can only come first
            consume(bytes)
        }
        applyBackpressure()
    }

    /// Interprets input: request heads and bodies, then WebSocket frames. Pipelined requests past
    /// this turn's budget are kept and served on a later turn, so one socket cannot hold the loop.
    func consume(_ input: UnsafeMutableRawBufferPointer) {
        var bytes = input
        var turnStarted: UInt64 = 0   // read only once a request head completes: WebSocket input never pays for it
        while !bytes.isEmpty {
            switch state {
            case .http(var parser):
                let outcome = parser.feed(UnsafeRawBufferPointer(bytes))
                state = .http(parser)
                switch outcome {
                case .needMore:
                    return
                case .failure(let status, let reason):
                    return respondAndClose(.json(status, HTTPRoutes.text(Reply(.malformed, reason))))
                case .head(let head, let consumed):
                    if turnStarted == 0 { turnStarted = server.turnClock() }
                    bytes = UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])
                    begin(head, served: Int(parser.headsParsed))
                }
            case .body(let body):
                let taken = body.take(UnsafeRawBufferPointer(bytes))
                bytes = UnsafeMutableRawBufferPointer(rebasing: bytes[taken...])
                guard body.isComplete else { return }
                state = .http(body.parser)
                answer(body.head, body: body.bytes, served: Int(body.parser.headsParsed))
            case .webSocket(let partial):
                state = .closing   // while frames are handled, a close may end the WebSocket
                var decoder = partial?.take() ?? freshDecoder()
                decoder.feed(bytes) { handle($0) }
                guard isOpen && !decoder.isClosed else { return }
                if decoder.isBetweenMessages {
                    state = .webSocket(nil)
                } else {
                    let kept = partial ?? PartialMessage()
                    kept.decoder = decoder
                    state = .webSocket(kept)
                }
                return
            case .closing, .stream:
                return
            case .waiting:
                return server.holdInput(self, UnsafeRawBufferPointer(bytes))
            }
            if turnStarted != 0, case .http = state {
                if !bytes.isEmpty, server.turnBudgetSpent(since: turnStarted) {
                    server.chargeHTTPWork(since: turnStarted)
                    return server.deferInput(self, UnsafeRawBufferPointer(bytes))
                }
                if bytes.isEmpty { server.chargeHTTPWork(since: turnStarted) }
            }
        }
    }

    /// Stops reading a client whose own queue is over the cap until it drains; the sweep closes it
    /// with 1008 if it stays over for --slow-consumer-seconds.
    func applyBackpressure() {
        guard !readPaused, queuedBytes > server.config.maxQueuedBytes, !isClosing else { return }
        pauseReading()
        server.noteOverCap(self)
    }

    func pauseReading() {
        readPaused = true
        stopReading()
    }

    /// Reads again once nothing holds it back (drained, and no input left over from an earlier turn).
    func resumeReading() {
        guard readPaused, !isClosing, !server.hasDeferredInput(self), queuedBytes <= server.config.maxQueuedBytes else { return }
        readPaused = false
        if case .closing = state { return }
        do { try startReading() } catch { terminate() }
    }

    override func didDrain() {
        if peerHasEnded, case .closing = state { return close() }   // the answer went out whole, then the FIN
        if readPaused { resumeReading() }
        if holdsKept { server.keptDrained(self) }
    }

    override var encodesOutput: Bool { isTLS }

    override func encode(_ plaintext: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {
        encrypt(plaintext, emit)
    }

    /// Units in bytes this connection wrote: frames once upgraded, else whole responses.
    override func unitBoundary(in bytes: UnsafeRawBufferPointer, atOrAfter offset: Int) -> Int {
        upgraded ? SentFrames.boundary(in: bytes, atOrAfter: offset) : bytes.count
    }

    override func unitStart(in bytes: UnsafeRawBufferPointer, containing offset: Int) -> Int {
        upgraded ? SentFrames.start(in: bytes, containing: offset) : 0
    }

    /// The socket is about to close: every routed message it never handed to the kernel is
    /// answered to its sender (status 1), so nothing is lost without a word.
    override func willClose() {
        guard upgraded, queuedBytes > 0 else { return }
        forEachUnsent { bytes, taken in reportUndelivered(bytes, taken: taken) }
    }

    override func didEnd(with error: UVError?) {
        // An HTTP client may half-close after its request and still read (`nc -N`): an answer
        // still queued goes out whole before the close (the close timeout bounds a non-reader).
        if error == nil, !upgraded, queuedBytes > 0 {
            if case .http = state { finishClosing() }
            if case .closing = state { return }
        }
        terminate(reason: error == nil ? "ended without a close frame" : "connection lost")
    }

    override func didFinishClosing() {
        leaveSwitchboard(code: 1006, reason: "closed")
        server.connectionDidClose(self)
    }

    // MARK: HTTP

    /// A request head arrived: refuse it, read its body first, or answer it.
    private func begin(_ head: HTTPRequestHead, served: Int) {
        switch refusal {
        case .none: break
        case .serverFull:
            return respondAndClose(.json(503, HTTPRoutes.text(Reply(.malformed, "server at capacity, retry later")), headers: [("Retry-After", "1")]))
        case .addressFull:
            return respondAndClose(.json(503, HTTPRoutes.text(Reply(.malformed, "too many connections from your address")), headers: [("Retry-After", "5")]))
        case .addressTooFast:
            return respondAndClose(.json(429, HTTPRoutes.text(Reply(.malformed, "too many new connections from your address; slow down")), headers: [("Retry-After", "1")]))
        }
        switch RequestBody.length(of: head, limit: server.config.maxRequestBodyBytes) {
        case .failure(let refusal):
            respondAndClose(refusal)
        case .success(0):
            answer(head, body: [], served: served)
        case .success(let length):
            if Handshake.isUpgradeRequest(head) {
                return respondAndClose(.json(400, HTTPRoutes.text(Reply(.malformed, "a WebSocket handshake has no body"))))
            }
            guard case .http(let parser) = state else { return }
            state = .body(PendingBody(head: head, length: length, parser: parser))
        }
    }

    private func answer(_ head: HTTPRequestHead, body: [UInt8], served: Int) {
        if Handshake.isUpgradeRequest(head) { return upgrade(head) }
        guard head.method == "GET" || head.method == "POST" else {
            return respondAndClose(.json(405, HTTPRoutes.text(Reply(.malformed, "only GET and POST are served")), headers: [("Allow", "GET, POST")]))
        }
        if ConsoleRoutes.openStream(head, from: self, server: server) { return }
        if let later = FleetRoutes.deferred(head, body: body, from: self, server: server) { return answerLater(head, served: served, later) }
        finish(head, HTTPRoutes.respond(to: head, body: body, from: self, server: server), served: served)
    }

    /// An answer the fleet must be asked for first: this request, and any pipelined behind it,
    /// wait for it (input held, not read), then keep-alive goes on as usual.
    private func answerLater(_ head: HTTPRequestHead, served: Int, _ ask: (@escaping (HTTPResponse) -> Void) -> Void) {
        guard case .http(let parser) = state else { return }
        beginWaiting()
        ask { [self] response in
            guard isWaiting else { return }
            state = .http(parser)
            finish(head, response, served: served)
            if case .http = state { endWaiting() }
        }
    }

    private func finish(_ head: HTTPRequestHead, _ response: HTTPResponse, served: Int) {
        let keepAlive = head.keepAlive && served < server.config.maxRequestsPerConnection
        response.withSerialized(keepAlive: keepAlive) { _ = write($0) }
        if keepAlive {
            requestSince = server.loop.now
        } else {
            finishClosing()
        }
    }

    private func upgrade(_ head: HTTPRequestHead) {
        var response: SwitchingProtocols
        switch Handshake.accept(head) {
        case .failure(let refusal): return respondAndClose(refusal)
        case .success(let answer): response = answer
        }
        if let origin = head.header(.origin), !OriginPolicy.allows(origin, head: head, config: server.config) {
            return respondAndClose(.json(403, HTTPRoutes.text(Reply(.forbidden, "origin not allowed"))))
        }
        if let policy = server.deflatePolicy, let agreed = policy.negotiate(head) {
            response.extensions = agreed.responseHeaderValue
            deflates = true
            serverWindowBits = UInt8(agreed.serverWindowBits)
        }
        if server.config.echo && head.path == "/echo" {
            isEcho = true
            return accept(response)
        }
        switch DeviceRequest.parse(head) {
        case .failure(let refusal):
            respondAndClose(refusal)
        case .success(let request):
            var claims: TokenClaims?
            if let trust = server.trust {
                switch trust.verify(DeviceRequest.token(in: head), for: request.deviceID) {
                case .failure(let problem):
                    server.metrics.authFailures[problem.reason, default: 0] += 1
                    server.console?.record(.authFailure, device: request.deviceID, detail: problem.reason)
                    return respondAndClose(Server.unauthorized(problem))
                case .success(let verified):
                    claims = verified
                }
            }
            guard server.cluster != nil else { return admit(request, response, claims, host: claims == nil ? nil : head.header("host"), fleet: nil) }
            server.claimDevice(self, as: request.deviceID, query: request.queryStatus) { [self] fleet in
                admit(request, response, claims, host: claims == nil ? nil : head.header("host"), fleet: fleet)
            }
        }
    }

    /// Upgrades and registers a device whose handshake passed (and whose claim the fleet answered).
    private func admit(_ request: DeviceRequest, _ response: SwitchingProtocols, _ claims: TokenClaims?, host: String?, fleet: FleetStates?) {
        accept(response)
        server.register(self, as: request.deviceID)
        if let claims {
            server.admitToken(self, request.deviceID, claims, host: host)
            // The wheel entry filed at accept fires first; from then on the expiry is a deadline too.
            if let deadline = server.tokenDeadline(of: request.deviceID), deadline < nextCheck { postponeCheck(to: deadline) }
        }
        server.deviceArrived(request.deviceID, self)
        guard !request.queryStatus.isEmpty else { return }
        guard server.trust != nil else {
            return server.queryStatus(request.queryStatus, watcher: self, fleet: fleet) { [self] answer in send(Server.queryReply(answer, idJSON: nil)) }
        }
        // Token mode: only ids it may message are answered (and watched), as for the command.
        server.permittedIDs(request.queryStatus, for: request.deviceID) { [self] allowed in
            guard isOpen else { return }
            guard let allowed else { return send(Server.clusterUnavailable(nil)) }
            guard !allowed.isEmpty else { return send(Reply(.ok, "ok")) }
            server.queryStatus(allowed, watcher: self, fleet: fleet) { [self] answer in send(Server.queryReply(answer, idJSON: nil)) }
        }
    }

    // MARK: Waiting for the fleet

    var isWaiting: Bool {
        if case .waiting = state { return true }
        return false
    }

    /// Holds input (and stops reading) until `endWaiting`.
    func beginWaiting() {
        state = .waiting
        pauseReading()
    }

    /// The answer came and `state` was set from it: input held meanwhile is served, then reading resumes.
    func endWaiting() {
        if let held = server.waitingInput.removeValue(forKey: ObjectIdentifier(self)) {
            held.withUnsafeBytes { server.deferInput(self, $0) }
        } else {
            resumeReading()
        }
    }

    private func freshDecoder() -> FrameDecoder {
        var decoder = FrameDecoder(role: .server, maxMessageBytes: server.config.maxMessageBytes)
        decoder.acceptsCompression = deflates
        return decoder
    }

    private func accept(_ response: SwitchingProtocols) {
        state = .webSocket(nil)
        isOpen = true
        upgraded = true

        postponeCheck(to: server.loop.now + server.config.pingIntervalMilliseconds)
        response.withSerialized { _ = write($0) }
    }

    private func respondAndClose(_ response: HTTPResponse) {
        if response.status >= 400 { server.metrics.handshakesFailed[response.status, default: 0] += 1 }
        response.withSerialized(keepAlive: false) { _ = write($0) }
        finishClosing()
    }

    // MARK: Ending

    /// Stops interpreting input, sends FIN after what is queued, and waits (bounded) for EOF.
    /// The device leaves the switchboard now, so its offline goes out with this tick; `code` and
    /// `reason` are the close frame's, for the console and the disconnect counts.
    func finishClosing(code: UInt16 = CloseCode.normal.rawValue, reason: String = "") {
        state = .closing
        isOpen = false
        leaveSwitchboard(code: code, reason: reason)
        if let tls {   // close_notify last of all records, so the peer can tell the end from a cut
            flushGathered()
            encodeHeldOutput()
            tls.close()
            tls.drainCiphertext { _ = writeEncoded($0) }
        }
        shutdown()
        server.beginClosing(self)
    }

    /// A slow consumer: what was never handed to its socket is dropped (each routed message answered
    /// to its sender), so the 1008 close follows right behind what is already in flight.
    func closeAsSlowConsumer() {
        guard isOpen else { return terminate() }
        dropUnsent { reportUndelivered($0, taken: 0) }
        fail(.policyViolation, reason: "slow consumer")
    }

    /// Closes the socket at once (peer gone, or it did not finish closing in time): for a device,
    /// an end without a close frame (1006).
    func terminate(reason: String = "closed") {
        state = .closing
        isOpen = false
        leaveSwitchboard(code: 1006, reason: reason)
        close()
    }

    /// The console's live stream takes over: from now on input is discarded and nothing times out.
    func becomeStream() {
        state = .stream
    }

    /// The server is going away: close with 1001, and leave without announcing offline (the
    /// device did not choose to leave; it will reconnect elsewhere).
    func goAway() {
        guard isOpen else { return terminate() }
        if let id = deviceID {
            server.switchboard.unregisterQuietly(id, self)
            server.trust?.forget(id)
            server.deviceLeft(id, code: CloseCode.goingAway.rawValue, reason: "server going away")
        }
        fail(.goingAway, reason: "server going away")
    }

    private func leaveSwitchboard(code: UInt16, reason: String) {
        guard let id = deviceID else { return }   // the switchboard clears it
        if server.logsDebug { server.logger.debug("device disconnected", metadata: ["device": "\(id)"]) }
        if server.switchboard.unregister(id, self) && server.cluster != nil { server.leaveCluster(id) }
        server.trust?.forget(id)
        server.deviceLeft(id, code: code, reason: reason)
    }
}

/// A frame or fragmented message left unfinished at the end of a read: the one thing a
/// connection keeps between reads, and only while it lasts.
final class PartialMessage {
    var decoder: FrameDecoder?

    /// The decoder, moved out (the box lets go, so its buffers stay uniquely owned: no copies).
    func take() -> FrameDecoder? {
        defer { decoder = nil }
        return decoder
    }
}
