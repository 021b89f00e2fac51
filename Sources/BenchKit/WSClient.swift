import Glibc
import TLS
import UV
import WebSocket

/// What a bench client reports to its scenario.
public protocol WSClientDelegate: AnyObject {
    func clientDidOpen(_ client: WSClient)
    func client(_ client: WSClient, didReceiveText payload: UnsafeRawBufferPointer)
    /// The connection failed or ended; `opened` tells whether the handshake had completed.
    func clientDidEnd(_ client: WSClient, opened: Bool, reason: String)
}

/// The client side of RFC 6455 for load generation: handshake with the accept value checked,
/// masked frames out, pings answered, close handshake. Reuses the WebSocket module's codec.
/// With `WSClientOptions`, over TLS (WSClient+TLS.swift) and with permessage-deflate (ClientDeflate).
public final class WSClient: TCPConnectionDelegate {
    public let index: Int
    unowned let delegate: any WSClientDelegate
    public private(set) var tcp: DelegatingConnection?
    public private(set) var isOpen = false
    private var ended = false
    private var everOpened = false
    private var head: [UInt8] = []
    private var expectedAccept = ""
    private var decoder = FrameDecoder(role: .client, maxMessageBytes: 64 << 20)
    let maskKey = UInt32.random(in: 1...UInt32.max)
    public var handshakeStarted: UInt64 = 0
    let options: WSClientOptions
    var tls: TLSSession?
    /// Over TLS: sends the upgrade request once the handshake is done.
    var onHandshake: (() -> Void)?
    /// The server agreed to permessage-deflate: outgoing text is compressed.
    public private(set) var compresses = false

    public init(index: Int, delegate: any WSClientDelegate, options: WSClientOptions = WSClientOptions()) {
        self.index = index
        self.delegate = delegate
        self.options = options
    }

    public func connect(loop: Loop, to address: SocketAddress, from source: SocketAddress?, path: String, host: String) {
        handshakeStarted = monotonicNanoseconds()
        DelegatingConnection.connect(loop: loop, to: address, from: source) { [self] result in
            switch result {
            case .failure(let error):
                end(reason: "connect: \(error)")
            case .success(let tcp):
                self.tcp = tcp
                tcp.delegate = self
                try? tcp.setNoDelay(true)
                if let context = options.tls {
                    startTLS(tcp, context: context) { [unowned self] in sendUpgrade(tcp, path: path, host: host) }
                } else {
                    sendUpgrade(tcp, path: path, host: host)
                }
                do { try tcp.startReading() } catch { end(reason: "read: \(error)") }
            }
        }
    }

    private func sendUpgrade(_ tcp: DelegatingConnection, path: String, host: String) {
        var keyBytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { keyBytes[i] = UInt8.random(in: 0...255) }
        let key = Handshake.base64(keyBytes)
        expectedAccept = Handshake.acceptValue(forKey: key)
        let extensions = options.deflate ? "Sec-WebSocket-Extensions: \(ClientDeflate.offer)\r\n" : ""
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\(extensions)\r\n"
        Array(request.utf8).withUnsafeBytes { _ = tcp.write($0) }
    }

    /// Sends one masked text frame built in the shared scratch buffer.
    public func sendText(_ payload: UnsafeRawBufferPointer) {
        guard isOpen, let tcp else { return }
        if compresses && ClientDeflate.withCompressedFrame(payload, maskKey: maskKey, { tcp.send($0) }) { return }
        Scratch.shared.withFrame(payload, maskKey: maskKey) { tcp.send($0) }
    }

    public func close() {
        guard let tcp, !ended else { return }
        if isOpen {
            isOpen = false
            var payload = FrameHeader.closePayload(.normal)
            Scratch.shared.withFrame(payload.withUnsafeMutableBytes { UnsafeRawBufferPointer($0) }, maskKey: maskKey, opcode: .close) {
                _ = tcp.write($0)
            }
            if let tls { closeTLS(tls, tcp) }
            tcp.shutdown()
        } else {
            tcp.close()
        }
    }

    /// Closes the socket without a close frame (a dropped network, as seen from the server).
    public func abort() { tcp?.closeWithReset() }

    // MARK: TCPConnectionDelegate

    public func connection(_ connection: DelegatingConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        if let tls { return readTLS(tls, connection, bytes) }
        consume(connection, bytes)
    }

    /// WebSocket bytes (plaintext, when over TLS): the 101 response, then frames.
    func consume(_ connection: DelegatingConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        var bytes = bytes
        if !isOpen && !ended {
            guard let consumed = readHead(UnsafeRawBufferPointer(bytes)) else { return }
            bytes = UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])
        }
        guard isOpen, !bytes.isEmpty else { return }
        decoder.feed(bytes) { event in
            switch event {
            case .text(let payload): delegate.client(self, didReceiveText: payload)
            case .ping(let payload):
                Scratch.shared.withFrame(payload, maskKey: maskKey, opcode: .pong) { connection.send($0) }
            case .close:
                isOpen = false
                connection.close()
            case .failure(_, let reason):
                end(reason: "protocol: \(reason)")
            case .compressed(let opcode, let payload):
                let error = ClientDeflate.inflate(payload) { message in
                    if opcode == .text { delegate.client(self, didReceiveText: message) }
                }
                if let error { fail("inflate: \(error)") }
            case .binary, .pong: break
            }
        }
    }

    public func connection(_ connection: DelegatingConnection, didEndWith error: UVError?) {
        connection.close()
    }

    public func connectionDidClose(_ connection: DelegatingConnection) {
        end(reason: "closed")
    }

    /// Returns how many bytes the 101 response took, or nil while it is incomplete (or failed).
    private func readHead(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let before = head.count
        head.append(contentsOf: bytes)
        guard let end = findHeadEnd() else {
            if head.count > 8192 { fail("response head too large") }
            return nil
        }
        let text = String(decoding: head[..<end], as: UTF8.self)
        head = []
        guard text.hasPrefix("HTTP/1.1 101") else {
            fail("handshake refused: \(text.prefix(40))")
            return nil
        }
        let lowercased = text.lowercased()
        guard lowercased.contains("sec-websocket-accept: \(expectedAccept.lowercased())") else {
            fail("bad Sec-WebSocket-Accept")
            return nil
        }
        if options.deflate && ClientDeflate.agreed(inLowercasedHead: lowercased) {
            compresses = true
            ClientDeflate.agreements += 1
            decoder.acceptsCompression = true
        }
        isOpen = true
        everOpened = true
        delegate.clientDidOpen(self)
        return end - before
    }

    private func findHeadEnd() -> Int? {
        guard head.count >= 4 else { return nil }
        for i in 3..<head.count where head[i] == 0x0A && head[i - 1] == 0x0D && head[i - 2] == 0x0A && head[i - 3] == 0x0D {
            return i + 1
        }
        return nil
    }

    func fail(_ reason: String) {
        tcp?.close()
        end(reason: reason)
    }

    func end(reason: String) {
        guard !ended else { return }
        ended = true
        isOpen = false
        delegate.clientDidEnd(self, opened: everOpened, reason: reason)
    }
}

/// One reusable buffer where outgoing client frames are assembled and masked (the bench is
/// single-threaded; the bytes are copied by the connection only if the kernel does not take them).
final class Scratch {
    nonisolated(unsafe) static let shared = Scratch()
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    /// `compressed` sets RSV1 (permessage-deflate).
    func withFrame(_ payload: UnsafeRawBufferPointer, maskKey: UInt32, opcode: Opcode = .text, compressed: Bool = false,
                   _ body: (UnsafeRawBufferPointer) -> Void) {
        let needed = payload.count + FrameHeader.maxSize
        if buffer.count < needed { buffer = [UInt8](repeating: 0, count: needed) }
        buffer.withUnsafeMutableBytes { out in
            let headerSize = FrameHeader.write(opcode: opcode, payloadLength: payload.count, maskKey: maskKey, into: out.baseAddress!)
            if compressed { out[0] |= 0x40 }
            let area = UnsafeMutableRawBufferPointer(rebasing: out[headerSize..<headerSize + payload.count])
            if !payload.isEmpty { area.copyMemory(from: payload) }
            applyMask(maskKey, offset: 0, to: area)
            body(UnsafeRawBufferPointer(rebasing: out[0..<headerSize + payload.count]))
        }
    }
}

public func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}
