import UV
import WebSocket

/// One socket's life: HTTP request head, then either plain HTTP responses or a WebSocket
/// (upgrade, frames, close), then a bounded wait for the peer to finish closing.
final class Connection: TCPConnectionDelegate {
    let tcp: TCPConnection
    unowned let server: Server

    enum State {
        case http(RequestHeadParser)
        case webSocket(FrameDecoder)
        /// A close was sent or the request was answered for good: input is discarded until EOF.
        case closing
    }
    private var state = State.http(RequestHeadParser())

    init(tcp: TCPConnection, server: Server) {
        self.tcp = tcp
        self.server = server
    }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
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
                    return respondAndClose(.json(status, statusBody(2, reason)))
                case .head(let head, let consumed):
                    bytes = UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])
                    handle(head)
                }
            case .webSocket(var decoder):
                state = .closing   // the decoder is out of `state` while it runs: no copy on write
                decoder.feed(bytes) { handle($0) }
                if case .closing = state, !decoder.isClosed { state = .webSocket(decoder) }
                return
            case .closing:
                return
            }
        }
    }

    func connection(_ connection: TCPConnection, didEndWith error: UVError?) {
        tcp.close()
    }

    func connectionDidClose(_ connection: TCPConnection) {
        server.connectionDidClose(self)
    }

    // MARK: HTTP

    private func handle(_ head: HTTPRequestHead) {
        if Handshake.isUpgradeRequest(head) { return upgrade(head) }
        guard head.method == "GET" else {
            return respondAndClose(.json(405, statusBody(2, "only GET is served"), headers: [("Allow", "GET")]))
        }
        let response = HTTPRoutes.respond(to: head, server: server)
        response.serialized(keepAlive: head.keepAlive).withUnsafeBytes { _ = tcp.write($0) }
        if head.keepAlive {
            state = .http(RequestHeadParser())
        } else {
            finishClosing()
        }
    }

    private func upgrade(_ head: HTTPRequestHead) {
        let response = Handshake.respond(to: head)
        guard response.status == 101 else { return respondAndClose(response) }
        guard server.config.echo, head.path == "/echo" else {
            return respondAndClose(.json(404, statusBody(2, "no WebSocket endpoint at \(head.path)")))
        }
        state = .webSocket(FrameDecoder(role: .server, maxMessageBytes: server.config.maxMessageBytes))
        response.serialized(keepAlive: true).withUnsafeBytes { _ = tcp.write($0) }
    }

    private func respondAndClose(_ response: HTTPResponse) {
        response.serialized(keepAlive: false).withUnsafeBytes { _ = tcp.write($0) }
        finishClosing()
    }

    // MARK: WebSocket

    private func handle(_ event: FrameEvent) {
        switch event {
        case .text(let payload):
            send(.text, payload)
        case .binary(let payload):
            send(.binary, payload)
        case .ping(let payload):
            send(.pong, payload)
        case .pong:
            break
        case .close(let code, _):
            // Echo the peer's code (RFC 6455 section 5.5.1); an empty close gets an empty one.
            let payload: [UInt8] = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
            payload.withUnsafeBytes { send(.close, $0) }
            finishClosing()
        case .failure(let code, let reason):
            sendClose(code, reason: reason)
        }
    }

    func send(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) {
        let header = FrameHeader(opcode: opcode, payloadLength: payload.count)
        header.withUnsafeBytes { _ = tcp.write($0, payload) }
    }

    /// Starts a server-side close: the peer gets a few seconds to answer before TCP is cut.
    func sendClose(_ code: CloseCode, reason: String) {
        FrameHeader.closePayload(code, reason: reason).withUnsafeBytes { send(.close, $0) }
        finishClosing()
    }

    /// Stops interpreting input, sends FIN after what is queued, and waits (bounded) for EOF.
    private func finishClosing() {
        state = .closing
        tcp.shutdown()
        server.beginClosing(self)
    }

    private func statusBody(_ status: Int, _ message: String) -> String {
        "{\"status\":\(status),\"message\":\"\(jsonEscaped(message))\"}"
    }
}
