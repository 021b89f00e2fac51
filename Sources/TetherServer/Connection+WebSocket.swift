import Switchboard
import UV
import WebSocket

extension Connection {
    func handle(_ event: FrameEvent) {
        switch event {
        case .text(let payload):
            if isEcho { send(.text, payload) } else { route(payload) }
        case .binary(let payload):
            if isEcho { send(.binary, payload) } else { send(Reply(.binaryUnsupported, "binary frames are not supported; send JSON text")) }
        case .ping(let payload):
            send(.pong, payload)
        case .pong:
            pingSentAt = 0
        case .close(let code, _):
            // Echo the peer's code (RFC 6455 section 5.5.1); an empty close gets an empty one.
            let payload: [UInt8] = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
            payload.withUnsafeBytes { send(.close, $0) }
            finishClosing()
        case .failure(let code, let reason):
            fail(code, reason: reason)
        }
    }

    /// A device's text message: forwarded byte for byte, or answered with a status reply.
    private func route(_ payload: UnsafeRawBufferPointer) {
        guard let sender = deviceID else { return }
        let envelope: Envelope
        switch Envelope.scan(payload) {
        case .success(let scanned): envelope = scanned
        case .failure(.malformed(let why)):
            return send(Reply(.malformed, why, idJSON: Envelope.idJSON(of: payload)))
        }
        switch server.switchboard.route(envelope, payload: payload, from: sender, sender: self) {
        case .deliver(let recipient):
            if server.isBusy(recipient) {
                return send(Reply(.recipientBusy, "recipient busy", dataJSON: Reply.statusMap([(envelope.to, true)]), idJSON: envelope.idJSON))
            }
            recipient.send(.text, payload)
        case .broadcast:
            server.broadcast(payload, except: self)
        case .reply(let reply):
            send(reply)
        }
    }

    func send(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) {
        let header = FrameHeader(opcode: opcode, payloadLength: payload.count)
        header.withUnsafeBytes { tcp.send($0, payload) }
    }

    func send(_ reply: Reply) {
        reply.bytes.withUnsafeBytes { send(.text, $0) }
    }

    /// Starts a server-side close: the peer gets a few seconds to answer before TCP is cut.
    func fail(_ code: CloseCode, reason: String) {
        guard isOpen else { return }
        FrameHeader.closePayload(code, reason: reason).withUnsafeBytes { send(.close, $0) }
        finishClosing()
    }

    /// Called by the heartbeat sweep when this connection is due.
    func checkHeartbeat(now: UInt64) {
        guard isOpen else { return }
        let pending = pingSentAt == 0 ? nil : pingSentAt
        switch server.heartbeat.decide(now: now, lastSeen: lastSeen, pingSentAt: pending) {
        case .check(let time):
            server.heartbeatWheel.schedule(self, at: time)
        case .ping(let next):
            pingSentAt = now
            send(.ping, UnsafeRawBufferPointer(start: nil, count: 0))
            server.heartbeatWheel.schedule(self, at: next)
        case .dead:
            server.logger.debug("heartbeat timeout", metadata: ["device": "\(deviceID ?? "-")"])
            terminate()
        }
    }
}
