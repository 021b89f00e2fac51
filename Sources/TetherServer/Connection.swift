import Switchboard
import UV
import WebSocket

/// One socket's life: HTTP request head, then either plain HTTP responses or a WebSocket
/// (upgrade, frames, close), then a bounded wait for the peer to finish closing. It is the TCP
/// connection itself (a subclass), so an idle connection is one object besides libuv's handle.
final class Connection: TCPConnection, SwitchboardPeer {
    // Stored fields are ordered by size so an idle connection packs tightly.
    unowned let server: Server
    /// Loop time of the last bytes received, and of the unanswered ping (0: none).
    var lastSeen: UInt64
    var pingSentAt: UInt64 = 0
    /// When the current HTTP request began (accept, or the previous keep-alive answer).
    var requestSince: UInt64
    /// When the sweep should look at this connection next (its one wheel entry may be earlier: it
    /// then files itself again for this time).
    var nextCheck: UInt64 = 0
    /// The device this connection speaks for (nil for HTTP and /echo); set by the switchboard.
    var deviceID: String?

    enum State {
        case http(RequestHeadParser)
        /// A WebSocket; between messages (the idle case) it keeps no decoder at all.
        case webSocket(PartialMessage?)
        /// A close was sent or the request was answered for good: input is discarded until EOF.
        case closing
    }
    var state = State.http(RequestHeadParser())

    var isEcho = false
    /// An accepted WebSocket that has not started closing (`state` may be borrowed while decoding).
    var isOpen = false
    /// Accepted over --max-connections: every request is answered 503.
    var overCapacity = false

    init(loop: Loop, server: Server) throws(UVError) {
        self.server = server
        lastSeen = loop.now
        requestSince = lastSeen
        try super.init(loop: loop)
    }

    // MARK: Socket events

    override func didRead(_ bytes: UnsafeMutableRawBufferPointer) {
        lastSeen = server.loop.now
        server.metrics.bytesIn += UInt64(bytes.count)
        var bytes = bytes
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
                    bytes = UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])
                    handle(head)
                }
            case .webSocket(let partial):
                state = .closing   // while frames are handled, a close may end the WebSocket
                var decoder = partial?.take() ?? FrameDecoder(role: .server, maxMessageBytes: server.config.maxMessageBytes)
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
            case .closing:
                return
            }
        }
    }

    override func didEnd(with error: UVError?) {
        terminate()
    }

    override func didFinishClosing() {
        leaveSwitchboard()
        server.connectionDidClose(self)
    }

    // MARK: HTTP

    private func handle(_ head: HTTPRequestHead) {
        if overCapacity {
            return respondAndClose(.json(503, HTTPRoutes.text(Reply(.malformed, "server at capacity, retry later")), headers: [("Retry-After", "1")]))
        }
        if Handshake.isUpgradeRequest(head) { return upgrade(head) }
        guard head.method == "GET" else {
            return respondAndClose(.json(405, HTTPRoutes.text(Reply(.malformed, "only GET is served")), headers: [("Allow", "GET")]))
        }
        let response = HTTPRoutes.respond(to: head, server: server)
        response.serialized(keepAlive: head.keepAlive).withUnsafeBytes { _ = write($0) }
        if head.keepAlive {
            state = .http(RequestHeadParser())
            requestSince = server.loop.now
        } else {
            finishClosing()
        }
    }

    private func upgrade(_ head: HTTPRequestHead) {
        let response = Handshake.respond(to: head)
        guard response.status == 101 else { return respondAndClose(response) }
        if !server.config.allowedOrigins.isEmpty, !server.config.allowedOrigins.contains(head.header("origin") ?? "") {
            return respondAndClose(.json(403, HTTPRoutes.text(Reply(.forbidden, "origin not allowed"))))
        }
        if server.config.echo && head.path == "/echo" {
            isEcho = true
            return accept(response)
        }
        switch DeviceRequest.parse(head) {
        case .failure(let refusal):
            respondAndClose(refusal)
        case .success(let request):
            accept(response)
            server.register(self, as: request.deviceID)
            if !request.queryStatus.isEmpty, case .success(let map) = server.switchboard.queryStatus(request.queryStatus, watcher: self) {
                send(Reply(.ok, "ok", dataJSON: map))
            }
        }
    }

    private func accept(_ response: HTTPResponse) {
        state = .webSocket(nil)
        isOpen = true
        postponeCheck(to: server.loop.now + server.config.pingIntervalMilliseconds)
        response.serialized(keepAlive: true).withUnsafeBytes { _ = write($0) }
    }

    private func respondAndClose(_ response: HTTPResponse) {
        if response.status >= 400 { server.metrics.handshakesFailed[response.status, default: 0] += 1 }
        response.serialized(keepAlive: false).withUnsafeBytes { _ = write($0) }
        finishClosing()
    }

    // MARK: Ending

    /// Stops interpreting input, sends FIN after what is queued, and waits (bounded) for EOF.
    /// The device leaves the switchboard now, so its offline goes out with this tick.
    func finishClosing() {
        state = .closing
        isOpen = false
        leaveSwitchboard()
        shutdown()
        server.beginClosing(self)
    }

    /// Closes the socket at once (peer gone, or it did not finish closing in time).
    func terminate() {
        state = .closing
        isOpen = false
        leaveSwitchboard()
        close()
    }

    /// The server is going away: close with 1001, and leave without announcing offline (the
    /// device did not choose to leave; it will reconnect elsewhere).
    func goAway() {
        guard isOpen else { return terminate() }
        if let id = deviceID { server.switchboard.unregisterQuietly(id, self) }
        fail(.goingAway, reason: "server going away")
    }

    private func leaveSwitchboard() {
        guard let id = deviceID else { return }   // the switchboard clears it
        server.logger.debug("device disconnected", metadata: ["device": "\(id)"])
        server.switchboard.unregister(id, self)
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
