import CLibUV
import Glibc
import Testing
@testable import UV

@Suite struct TCPEchoTests {
    @Test func echoesOneMebibyteWrittenInRandomChunks() throws {
        let loop = try Loop()
        let (listener, address) = try listen(loop)
        let serverSide = Probe()
        serverSide.onRead = { connection, bytes in connection.write(UnsafeRawBufferPointer(bytes)) }
        listener.onConnection = { connection, _ in
            (connection as! DelegatingConnection).delegate = serverSide
            try? connection.startReading()
        }

        var generator = SystemRandomNumberGenerator()
        let sent = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var received: [UInt8] = []
        var timedOut = false
        let clientSide = Probe()
        clientSide.onRead = { _, bytes in received.append(contentsOf: bytes) }

        DelegatingConnection.connect(loop: loop, to: address) { result in
            guard case .success(let client) = result else { return }
            client.delegate = clientSide
            try? client.startReading()
            var offset = 0
            sent.withUnsafeBytes { all in
                while offset < all.count {
                    let size = min(Int.random(in: 1...65_536), all.count - offset)
                    client.write(UnsafeRawBufferPointer(rebasing: all[offset..<offset + size]))
                    offset += size
                }
            }
        }
        let guardTimer = try watchdog(loop) { timedOut = true }
        run(loop) { received.count >= sent.count || timedOut }
        guardTimer.close()

        #expect(!timedOut)
        #expect(received == sent)
        try loop.close()
    }

    @Test func acceptedSocketsInheritNoDelayAndSendBufferFromTheListener() throws {
        let loop = try Loop()
        let (listener, address) = try listen(loop)
        try listener.setAcceptedSocketOptions(noDelay: true, sendBufferBytes: 32 * 1024)
        var accepted: TCPConnection?
        listener.onConnection = { connection, _ in accepted = connection }
        var client: DelegatingConnection?
        DelegatingConnection.connect(loop: loop, to: address) { client = try? $0.get() }
        run(loop, limit: 1000) { accepted != nil && client != nil }

        var fd: Int32 = -1
        #expect(uv_fileno(accepted!.handle, &fd) == 0)
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0 && value == 1)
        #expect(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, &length) == 0 && value == 64 * 1024)   // the kernel doubles it
        accepted!.close()
        client!.close()
        try loop.close()
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func acceptHandsOverThePeersAddressAsGetpeernameReportsIt(host: String) throws {
        let loop = try Loop()
        let listener = try TCPListener(loop: loop, host: host, port: 0)
        let address = try SocketAddress(host: host, port: listener.localAddress!.port)
        var accepted: (connection: TCPConnection, peer: SocketAddress)?
        listener.onConnection = { accepted = ($0, $1) }
        var client: DelegatingConnection?
        DelegatingConnection.connect(loop: loop, to: address) { client = try? $0.get() }
        run(loop, limit: 1000) { accepted != nil && client != nil }

        #expect(accepted?.peer.description == accepted?.connection.peerAddress)
        #expect(accepted?.peer.ip == accepted?.connection.peerIP)
        #expect(accepted?.peer.ip == IPAddress(host))
        accepted?.connection.close()
        client?.close()
        try loop.close()
    }

    @Test func queuedBytesGrowWhileThePeerPausesAndDrainIntact() throws {
        let loop = try Loop()
        let (listener, address) = try listen(loop)
        var serverConnection: TCPConnection?
        var received: [UInt8] = []
        let serverSide = Probe()
        serverSide.onRead = { _, bytes in received.append(contentsOf: bytes) }
        listener.onConnection = { connection, _ in
            (connection as! DelegatingConnection).delegate = serverSide
            serverConnection = connection   // not reading yet: the peer is paused
        }

        let payload = (0..<(16 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var client: DelegatingConnection?
        var drained = false
        let clientSide = Probe()
        clientSide.onDrain = { _ in drained = true }
        DelegatingConnection.connect(loop: loop, to: address) { result in
            client = try? result.get()
            client?.delegate = clientSide
        }
        run(loop, limit: 1000) { client != nil && serverConnection != nil }
        payload.withUnsafeBytes { _ = client!.write($0) }

        // The kernel's buffers hold a few MiB at most; the rest must wait in the queue.
        for _ in 0..<20 { loop.runOnce(wait: false) }
        let queuedWhilePaused = client!.queuedBytes
        #expect(queuedWhilePaused > 0)
        #expect(!drained)

        try serverConnection!.startReading()
        var timedOut = false
        let guardTimer = try watchdog(loop) { timedOut = true }
        run(loop) { (drained && received.count >= payload.count) || timedOut }
        guardTimer.close()

        #expect(drained)
        #expect(client!.queuedBytes == 0)
        #expect(received == payload)
        try loop.close()
    }

    @Test func closingAConnectionInsideItsOwnReadCallbackIsSafe() throws {
        let loop = try Loop()
        let (listener, address) = try listen(loop)
        let serverSide = Probe()
        var reads = 0
        serverSide.onRead = { connection, _ in
            reads += 1
            connection.close()
            connection.close()                      // twice: still one close
            _ = connection.write(UnsafeRawBufferPointer(start: nil, count: 0))
            [UInt8]([1, 2, 3]).withUnsafeBytes { #expect(connection.write($0) == false) }
        }
        listener.onConnection = { connection, _ in
            (connection as! DelegatingConnection).delegate = serverSide
            try? connection.startReading()
        }
        var clientEnded = false
        let clientSide = Probe()
        clientSide.onEnd = { connection, _ in clientEnded = true; connection.close() }
        DelegatingConnection.connect(loop: loop, to: address) { result in
            guard let client = try? result.get() else { return }
            client.delegate = clientSide
            try? client.startReading()
            for _ in 0..<50 { [UInt8](repeating: 42, count: 1000).withUnsafeBytes { _ = client.write($0) } }
        }
        var timedOut = false
        let guardTimer = try watchdog(loop) { timedOut = true }
        run(loop) { (clientEnded && serverSide.closed == 1) || timedOut }
        guardTimer.close()

        #expect(reads == 1)
        #expect(serverSide.closed == 1)
        #expect(clientEnded)
        try loop.close()
    }

    @Test func aThousandConnectionsOpenedAndClosedLeaveTheLoopClean() throws {
        let loop = try Loop()
        let (listener, address) = try listen(loop)
        var accepted: [TCPConnection] = []
        listener.onConnection = { connection, _ in accepted.append(connection) }
        var connected: [DelegatingConnection] = []
        var failures = 0
        for _ in 0..<1000 {
            DelegatingConnection.connect(loop: loop, to: address) { result in
                switch result {
                case .success(let connection): connected.append(connection)
                case .failure: failures += 1
                }
            }
        }
        var timedOut = false
        let guardTimer = try watchdog(loop) { timedOut = true }
        run(loop) { (connected.count + failures == 1000 && accepted.count == connected.count) || timedOut }
        guardTimer.close()
        #expect(failures == 0)
        #expect(accepted.count == 1000)

        for connection in connected + accepted { connection.close() }
        listener.close()
        run(loop, limit: 100) { loop.openHandleCount == 0 }
        #expect(loop.openHandleCount == 0)
        try loop.close()
    }
}
