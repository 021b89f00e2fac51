import UV

/// Non-readers: devices with a 4 KiB receive buffer that never read. Each sends small binary
/// frames without reading the replies (status 3), and a hostile sender of its own floods it with
/// 8 KiB messages: the server should answer that sender status 5 and, after
/// --slow-consumer-seconds, close the non-reader with 1008. A non-reader cannot read that close;
/// it learns of it when a write fails (the server reset the socket), and reconnects.
final class HostileNonReaders: HostileKind, WSClientDelegate {
    private(set) var tally = HostileTally(kind: "nonreader")
    private let loop: Loop
    private let target: BenchTarget
    private let source: String
    private let sourceAddress: SocketAddress
    private let serverAddress: SocketAddress
    private var sockets: [RawSocket?]
    private var socketRetryAt: [UInt64]
    private var flooders: [WSClient?]
    private var flooderRetryAt: [UInt64]
    private let floods: [[UInt8]]
    private let handshakes: [[UInt8]]
    private let binaryBurst: [UInt8]
    private var lastBurst: UInt64 = 0
    private var stopped = false

    static let receiveBuffer: Int32 = 4096
    static let floodPerBurst = 16   // 8 KiB messages per sender every 100 ms: about 1.3 MB/s each
    static let framesPerBurst = 100   // binary frames per non-reader every 100 ms
    static let retry: UInt64 = 500_000_000
    static let connectTimeout: UInt64 = 5_000_000_000

    init(loop: Loop, target: BenchTarget, source: String, count: Int) throws {
        self.loop = loop
        self.target = target
        self.source = source
        sourceAddress = try SocketAddress(host: source, port: 0)
        serverAddress = try SocketAddress(host: target.host, port: target.port)
        tally.clients = count
        sockets = Array(repeating: nil, count: count)
        socketRetryAt = Array(repeating: 0, count: count)
        flooders = Array(repeating: nil, count: count)
        flooderRetryAt = Array(repeating: 0, count: count)
        let filler = String(repeating: "x", count: 8100)
        floods = (0..<count).map {
            Array("{\"from\":\"\(target.idPrefix)x-fl-\($0)\",\"to\":\"\(target.idPrefix)x-nr-\($0)\",\"msg\":\"\(filler)\"}".utf8)
        }
        // The key is fixed: the answer is never read, so it is never checked.
        handshakes = (0..<count).map {
            Array(("GET \(target.path(for: "\(target.idPrefix)x-nr-\($0)")) HTTP/1.1\r\nHost: \(target.host)\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n").utf8)
        }
        // A masked binary frame with a 2-byte payload, repeated.
        let frame: [UInt8] = [0x82, 0x82, 0x12, 0x34, 0x56, 0x78, 0x12 ^ 0x41, 0x34 ^ 0x42]
        binaryBurst = Array((0..<Self.framesPerBurst).map { _ in frame }.joined())
    }

    func tick(now: UInt64) {
        guard !stopped else { return }
        let burst = now - lastBurst >= 100_000_000
        if burst { lastBurst = now }
        for index in sockets.indices {
            tickNonReader(index, now: now, burst: burst)
            tickFlooder(index, now: now, burst: burst)
        }
    }

    private func tickNonReader(_ index: Int, now: UInt64, burst: Bool) {
        guard let socket = sockets[index] else {
            if now >= socketRetryAt[index] {
                sockets[index] = RawSocket(source: source, host: target.host, port: target.port, receiveBuffer: Self.receiveBuffer)
            }
            return
        }
        if !socket.connected {
            if socket.pollConnected() {
                tally.connections += 1
                socket.write(handshakes[index])
            } else if socket.failed || now - socket.openedAt > Self.connectTimeout {
                tally.count("connect_failed")
                drop(index, now: now)
            }
            return
        }
        guard burst else { return }
        if socket.pendingBytes == 0 {
            tally.count("binary_frames_sent", Self.framesPerBurst)
            socket.write(binaryBurst)
        } else {
            socket.flush()
        }
        if socket.failed {
            tally.endedByServer += 1
            drop(index, now: now)
        }
    }

    private func drop(_ index: Int, now: UInt64) {
        sockets[index]?.abort()
        sockets[index] = nil
        socketRetryAt[index] = now + Self.retry
    }

    private func tickFlooder(_ index: Int, now: UInt64, burst: Bool) {
        guard let flooder = flooders[index] else {
            guard now >= flooderRetryAt[index] else { return }
            let client = WSClient(index: index, delegate: self)
            flooders[index] = client
            client.connect(loop: loop, to: serverAddress, from: sourceAddress,
                           path: target.path(for: "\(target.idPrefix)x-fl-\(index)"), host: target.host)
            return
        }
        guard burst, flooder.isOpen else { return }
        floods[index].withUnsafeBytes { message in
            for _ in 0..<Self.floodPerBurst { flooder.sendText(message) }
        }
        tally.count("flood_messages_sent", Self.floodPerBurst)
    }

    func stop() {
        stopped = true
        for index in sockets.indices {
            sockets[index]?.abort()
            flooders[index]?.abort()
        }
    }

    // MARK: WSClientDelegate (the flooders)

    func clientDidOpen(_ client: WSClient) { tally.count("flooder_connections") }

    func client(_ client: WSClient, didReceiveText payload: UnsafeRawBufferPointer) {
        tally.bytesRead += payload.count
        guard payload.starts(with: Array("{\"status\":".utf8)), payload.count > 10 else { return }
        // 5: busy; 1: offline, or dropped undelivered when the non-reader was closed.
        switch payload[10] {
        case UInt8(ascii: "5"): tally.count("flood_answered_status_5")
        case UInt8(ascii: "1"): tally.count("flood_answered_status_1")
        default: tally.count("flood_answered_other")
        }
    }

    func clientDidEnd(_ client: WSClient, opened: Bool, reason: String) {
        if !opened {
            if let status = refusedStatus(reason) { tally.refusals[status, default: 0] += 1 } else { tally.count("connect_failed") }
        } else if !stopped {
            tally.endedByServer += 1
        }
        guard flooders.indices.contains(client.index), flooders[client.index] === client else { return }
        flooders[client.index] = nil
        flooderRetryAt[client.index] = monotonicNanoseconds() + Self.retry
    }
}
