import Switchboard
import UV
import WebSocket
import WebSocketDeflate

extension Connection {
    func handle(_ event: FrameEvent) {
        switch event {
        case .text(let payload):
            if isEcho { send(.text, payload) } else { withServer { route(payload, on: $0) } }
        case .binary(let payload):
            if isEcho { send(.binary, payload) } else { send(Reply(.binaryUnsupported, "binary frames are not supported; send JSON text")) }
        case .compressed(let opcode, let payload):
            inflate(opcode, payload)
        case .ping(let payload):
            send(.pong, payload)
        case .pong:
            pingSentAt = 0
        case .close(let code, _):
            // Echo the peer's code (RFC 6455 section 5.5.1); an empty close gets an empty one.
            let payload: [UInt8] = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
            payload.withUnsafeBytes { send(.close, $0) }
            finishClosing(code: code ?? 1005, reason: "closed by the device")
        case .failure(let code, let reason):
            fail(code, reason: reason)
        }
    }

    /// A device's text message: forwarded byte for byte, or answered with a status reply.
    /// `server` is borrowed (see `withServer`).
    private func route(_ payload: UnsafeRawBufferPointer, on server: Server) {
        guard let sender = deviceID, withinRateLimit(payload, on: server) else { return }
        if announcePending {
            // Handshake and first message in one read: the device's online goes out first.
            announcePending = false
            if server.switchboard.hasPendingPresence { server.flushPresence() }
        }
        let envelope: Envelope
        do throws(Envelope.Problem) {
            envelope = try Envelope.parse(payload, sender: sender)
        } catch {
            switch error {
            case .malformed(let why): return send(Reply(.malformed, why, idJSON: Envelope.idJSON(of: payload)))
            }
        }
        if let trust = server.trust, sameBytes(envelope.from, sender) {
            if envelope.to == "server", server.trustCommand(envelope, payload: payload, from: self, id: sender) { return }
            // Most messages go where the sender's last one went: answered here, without a call.
            if !trust.recentPermissions.allows(ObjectIdentifier(self), envelope.to) {
                guard server.authorize(envelope, from: sender, connection: self) else { return }
            }
        }
        switch server.switchboard.route(envelope, payload: payload, from: sender, sender: self) {
        case .deliver(let recipient):
            if server.isBusy(recipient) {
                return send(Reply(.recipientBusy, "recipient busy", dataJSON: Reply.statusMap([(envelope.to, true)]), idJSON: envelope.idJSON))
            }
            server.handOver(payload, to: recipient)
        case .keep(let seconds):
            server.keep(payload, envelope, seconds: seconds, from: self)
        case .broadcast:
            server.broadcast(payload, except: self)
        case .reply(let reply):
            send(reply)
        case .elsewhere:
            server.routeElsewhere(payload, envelope, from: sender, connection: self)
        case .query(let ids):
            let idJSON = envelope.idJSON
            server.queryStatus(ids, watcher: self) { [self] answer in send(Server.queryReply(answer, idJSON: idJSON)) }
        }
    }

    /// Takes a token for one message; refuses with status 6, and closes a persistent flood with 1008.
    private func withinRateLimit(_ payload: UnsafeRawBufferPointer, on server: Server) -> Bool {
        guard server.rateLimiter != nil else { return true }
        switch server.rateLimiter!.admit(ObjectIdentifier(self), now: server.loop.now) {
        case .allow:
            return true
        case .refuse:
            send(Reply(.rateLimited, "over \(server.config.maxMessagesPerSecond) messages per second; slow down", idJSON: Envelope.idJSON(of: payload)))
        case .flood:
            server.metrics.rateLimitCloses += 1
            fail(.policyViolation, reason: "message rate limit")
        }
        return false
    }

    /// A compressed message: inflated (bounded by --max-message-bytes: a zip bomb closes with 1009
    /// at the limit), checked, then handled as if it had come uncompressed.
    private func inflate(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) {
        let error = server.inflater!.inflate(payload) { plain in
            if opcode == .text && !UTF8Validator.isValid(plain) {
                return fail(.invalidPayload, reason: "text is not valid UTF-8")
            }
            handle(opcode == .text ? .text(plain) : .binary(plain))
        }
        if let error { fail(error.closeCode, reason: error == .tooBig ? "message exceeds \(server.config.maxMessageBytes) bytes" : "bad compressed data") }
    }

    func send(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) {
        if deflates && (opcode == .text || opcode == .binary) && payload.count >= MessageDeflater.defaultMinimumSize {
            var sent = false
            _ = server.deflater.compress(payload, windowBits: Int(serverWindowBits)) { compressed in
                var header = (UInt64(0), UInt64(0))
                withUnsafeMutableBytes(of: &header) { raw in
                    let count = CompressedFrameHeader.write(opcode: opcode, payloadLength: compressed.count, into: raw.baseAddress!)
                    server.metrics.bytesOut += UInt64(count + compressed.count)
                    send(UnsafeRawBufferPointer(rebasing: raw[0..<count]), compressed)
                }
                sent = true
            }
            if sent { return }
        }
        let header = FrameHeader(opcode: opcode, payloadLength: payload.count)
        withServer { $0.metrics.bytesOut += UInt64(header.count + payload.count) }
        header.withUnsafeBytes { send($0, payload) }
    }

    func send(_ reply: Reply) {
        if reply.status != .ok && reply.status != .queued { server.metrics.routingErrors[reply.status.rawValue, default: 0] += 1 }
        reply.bytes.withUnsafeBytes { send(.text, $0) }
    }

    /// Settles each routed message among `bytes` (frames this connection queued) that the kernel
    /// did not fully take (`taken` bytes of them it did): kept again, or answered to its sender.
    func reportUndelivered(_ bytes: UnsafeRawBufferPointer, taken: Int) {
        SentFrames.forEach(in: bytes) { frame in
            guard frame.end > taken, frame.opcode == Opcode.text.rawValue else { return }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[frame.payload])
            // Compressed (RSV1): with no context kept between messages, each inflates on its own.
            if bytes[frame.start] & 0x40 != 0 {
                _ = server.sentFrameInflater.inflate(payload) { server.notDelivered($0, by: self) }
            } else {
                server.notDelivered(payload, by: self)
            }
        }
    }

    /// Starts a server-side close: the peer gets a few seconds to answer before TCP is cut.
    func fail(_ code: CloseCode, reason: String) {
        guard isOpen else { return }
        FrameHeader.closePayload(code, reason: reason).withUnsafeBytes { send(.close, $0) }
        finishClosing(code: code.rawValue, reason: reason)
    }

    /// Called by the sweep when this connection is due: the request deadline while it speaks
    /// HTTP (a slowloris client is cut here), the heartbeat once it is a WebSocket.
    func checkDeadlines(now: UInt64) {
        switch state {
        case .closing, .stream: return
        case .waiting: return scheduleCheck(at: now + 1000)   // the fleet answers within its 2 s deadline
        default: break
        }
        // The check moved later since this entry was filed: file it again for the new time.
        guard now + server.heartbeatWheel.resolution > nextCheck else { return scheduleCheck(at: nextCheck) }
        if case .http(let parser) = state {
            let deadline = requestSince + server.config.handshakeTimeoutMilliseconds
            guard now >= deadline else { return scheduleCheck(at: deadline) }
            if parser.bufferedBytes > 0 {
                let reply = HTTPResponse.json(408, HTTPRoutes.text(Reply(.malformed, "request head not complete in time")))
                reply.serialized(keepAlive: false).withUnsafeBytes { _ = write($0) }
                return finishClosing()
            }
            return terminate()
        }
        checkHeartbeat(now: now)
    }

    /// Files the connection's one wheel entry (at accept, and when its entry has just fired).
    func scheduleCheck(at time: UInt64) {
        nextCheck = time
        server.heartbeatWheel.schedule(self, at: time)
    }

    /// Moves the next check later without a second entry: the pending, earlier entry re-files
    /// itself when it fires. One entry per connection keeps the wheel at 8 bytes a connection.
    func postponeCheck(to time: UInt64) {
        nextCheck = time
    }

    private func checkHeartbeat(now: UInt64) {
        guard isOpen else { return }
        // Token mode: the token's expiry is one more deadline on the same wheel entry.
        let tokenDeadline = deviceID.flatMap { server.tokenDeadline(of: $0) }
        if let tokenDeadline, tokenDeadline <= now {
            server.metrics.tokenExpiries += 1
            return fail(.tokenExpired, reason: "token expired")
        }
        func recheck(at time: UInt64) { scheduleCheck(at: min(time, tokenDeadline ?? time)) }
        let pending = pingSentAt == 0 ? nil : pingSentAt
        switch server.heartbeat.decide(now: now, lastSeen: lastSeen, pingSentAt: pending) {
        case .check(let time):
            recheck(at: time)
        case .ping(let next):
            pingSentAt = now
            send(.ping, UnsafeRawBufferPointer(start: nil, count: 0))
            recheck(at: next)
        case .dead:
            server.logger.debug("heartbeat timeout", metadata: ["device": "\(deviceID ?? "-")"])
            server.metrics.heartbeatTimeouts += 1
            terminate(reason: "heartbeat timeout")
        }
    }
}
