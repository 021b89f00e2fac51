import UV
import WebSocket

/// What a `ClientSocket` reports, on the loop thread.
protocol ClientSocketDelegate: AnyObject {
    func socketDidOpen(_ socket: ClientSocket)
    func socket(_ socket: ClientSocket, didReceive text: String)
    /// The socket is gone: `code` is the server's close code, or 1006 when there was none.
    func socket(_ socket: ClientSocket, didCloseWith code: UInt16, reason: String)
}

/// The client side of RFC 6455 over a UV TCP connection: handshake with the accept value
/// checked, masked text frames out, pings answered, close handshake. Uses the WebSocket module's
/// codec, as the bench's client does.
final class ClientSocket: TCPConnectionDelegate {
    weak var delegate: (any ClientSocketDelegate)?
    private var tcp: DelegatingConnection?
    private(set) var isOpen = false
    private var ended = false
    private var head: [UInt8] = []
    private var expectedAccept = ""
    private var decoder = FrameDecoder(role: .client, maxMessageBytes: 16 << 20)
    private var closeCode: UInt16 = 1006
    private var closeReason = ""

    init(delegate: any ClientSocketDelegate) {
        self.delegate = delegate
    }

    func connect(loop: Loop, address: SocketAddress, host: String, path: String) {
        DelegatingConnection.connect(loop: loop, to: address) { [self] result in
            switch result {
            case .failure(let error):
                finish(reason: "connect: \(error)")
            case .success(let tcp):
                guard !ended else { return tcp.close() }   // given up while connecting
                self.tcp = tcp
                tcp.delegate = self
                try? tcp.setNoDelay(true)
                let key = Handshake.base64((0..<16).map { _ in UInt8.random(in: 0...255) })
                expectedAccept = Handshake.acceptValue(forKey: key)
                let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
                Array(request.utf8).withUnsafeBytes { _ = tcp.write($0) }
                do { try tcp.startReading() } catch { fail("read: \(error)") }
            }
        }
    }

    func send(text: String) {
        guard isOpen else { return }
        write(.text, Array(text.utf8))
    }

    /// Starts the close handshake; the socket reports its end when the server answers (or the
    /// connection drops).
    func close(code: UInt16 = 1000) {
        guard !ended else { return }
        guard isOpen, let tcp else { return abort(reason: "closed before the handshake") }
        isOpen = false
        closeCode = code
        write(.close, [UInt8(code >> 8), UInt8(code & 0xFF)], force: true)
        tcp.shutdown()
    }

    /// Drops the connection at once (a link that went silent), reporting 1006.
    func abort(reason: String) {
        guard !ended else { return }
        closeCode = 1006
        closeReason = reason
        isOpen = false
        if let tcp { tcp.closeWithReset() } else { finish(reason: reason) }
    }

    private func write(_ opcode: Opcode, _ payload: [UInt8], force: Bool = false) {
        guard let tcp, isOpen || force else { return }
        let maskKey = UInt32.random(in: 1...UInt32.max)
        var frame = [UInt8](repeating: 0, count: FrameHeader.maxSize + payload.count)
        frame.withUnsafeMutableBytes { out in
            let headerSize = FrameHeader.write(opcode: opcode, payloadLength: payload.count, maskKey: maskKey, into: out.baseAddress!)
            let body = UnsafeMutableRawBufferPointer(rebasing: out[headerSize..<headerSize + payload.count])
            payload.withUnsafeBytes { body.copyMemory(from: $0) }
            applyMask(maskKey, offset: 0, to: body)
            _ = tcp.write(UnsafeRawBufferPointer(rebasing: out[0..<headerSize + payload.count]))
        }
    }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: DelegatingConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        var bytes = bytes
        if !isOpen && !ended && expectedAccept != "" {
            guard let consumed = readHead(UnsafeRawBufferPointer(bytes)) else { return }
            bytes = UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])
        }
        guard !bytes.isEmpty, !decoder.isClosed else { return }
        decoder.feed(bytes) { event in
            switch event {
            case .text(let payload):
                if isOpen { delegate?.socket(self, didReceive: String(decoding: payload, as: UTF8.self)) }
            case .ping(let payload):
                write(.pong, Array(payload))
            case .close(let code, let reason):
                if isOpen {   // the server started it: answer with its code, then wait for its FIN
                    isOpen = false
                    write(.close, code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? [], force: true)
                    connection.shutdown()
                }
                closeCode = code ?? 1005
                closeReason = String(decoding: reason, as: UTF8.self)
            case .failure(_, let reason):
                closeCode = 1006
                fail("protocol: \(reason)")
            default:
                break   // binary and pongs are not for us; compression is never offered
            }
        }
    }

    func connection(_ connection: DelegatingConnection, didEndWith error: UVError?) {
        connection.close()
    }

    func connectionDidClose(_ connection: DelegatingConnection) {
        finish(reason: closeReason.isEmpty ? "connection closed" : closeReason)
    }

    /// How many bytes the 101 answer took, or nil while it is incomplete (or refused).
    private func readHead(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let before = head.count
        head.append(contentsOf: bytes)
        guard let end = headEnd() else {
            if head.count > 8192 { fail("handshake answer too large") }
            return nil
        }
        let text = String(decoding: head[..<end], as: UTF8.self)
        head = []
        let statusLine = text.prefix { $0 != "\r" }
        guard statusLine.hasPrefix("HTTP/1.1 101") else {
            fail("handshake refused: \(statusLine)")
            return nil
        }
        guard text.lowercased().contains("\r\nsec-websocket-accept: \(expectedAccept.lowercased())\r\n") else {
            fail("bad Sec-WebSocket-Accept")
            return nil
        }
        isOpen = true
        delegate?.socketDidOpen(self)
        return end - before
    }

    private func headEnd() -> Int? {
        guard head.count >= 4 else { return nil }
        for i in 3..<head.count where head[i] == 0x0A && head[i - 1] == 0x0D && head[i - 2] == 0x0A && head[i - 3] == 0x0D {
            return i + 1
        }
        return nil
    }

    private func fail(_ reason: String) {
        closeCode = 1006
        closeReason = reason
        isOpen = false
        if let tcp { tcp.close() } else { finish(reason: reason) }
    }

    private func finish(reason: String) {
        guard !ended else { return }
        ended = true
        isOpen = false
        tcp = nil
        delegate?.socket(self, didCloseWith: closeCode, reason: closeReason.isEmpty ? reason : closeReason)
    }
}
