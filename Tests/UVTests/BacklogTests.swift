import Testing
import UV

/// A connection whose peer does not read keeps what the kernel refused in a backlog: whole writes
/// (units) that can be dropped before they reach the socket, and named when they never do.
@Suite struct BacklogTests {
    /// Unit `index`: 10 KiB, every byte the index, so the reader can tell units apart.
    static func unit(_ index: Int) -> [UInt8] { [UInt8](repeating: UInt8(index), count: 10 * 1024) }

    /// A connected pair on `loop`; the server side does not read until told.
    static func pair(_ loop: Loop, serverSide: Probe) throws -> (listener: TCPListener, client: DelegatingConnection, server: TCPConnection) {
        let (listener, address) = try listen(loop)
        var serverConnection: TCPConnection?
        listener.onConnection = { connection, _ in
            (connection as! DelegatingConnection).delegate = serverSide
            serverConnection = connection
        }
        var client: DelegatingConnection?
        let clientSide = Probe()
        DelegatingConnection.connect(loop: loop, to: address) { result in
            guard case .success(let connected) = result else { return }
            connected.delegate = clientSide
            client = connected
        }
        var timedOut = false
        let guardTimer = try watchdog(loop) { timedOut = true }
        run(loop) { (client != nil && serverConnection != nil) || timedOut }
        guardTimer.close()
        guard let client, let serverConnection else { throw UVError(-110) }
        return (listener, client, serverConnection)
    }

    @Test func droppedUnitsNeverArriveAndEveryOtherUnitArrivesWholeInOrder() throws {
        let loop = try Loop()
        var received: [UInt8] = []
        let serverSide = Probe()
        serverSide.onRead = { _, bytes in received.append(contentsOf: bytes) }
        let (listener, client, serverConnection) = try Self.pair(loop, serverSide: serverSide)
        var timedOut = false
        let guardTimer = try watchdog(loop) { timedOut = true }

        let units = 250
        try client.setSendBufferSize(16 * 1024)   // loopback would otherwise buffer megabytes
        for index in 0..<units { Self.unit(index).withUnsafeBytes { _ = client.write($0) } }
        #expect(client.queuedBytes > 0)   // the kernel did not take 2.5 MB at once

        var dropped: [Int] = []
        client.dropUnsent { chunk in
            // Chunks hold whole units here: each starts with its unit's index.
            var offset = 0
            while offset < chunk.count { dropped.append(Int(chunk[offset])); offset += 10 * 1024 }
            #expect(chunk.count % (10 * 1024) == 0)
        }
        #expect(!dropped.isEmpty)
        #expect(dropped == Array((units - dropped.count)..<units))   // the newest go

        try serverConnection.startReading()
        let expectedBytes = (units - dropped.count) * 10 * 1024
        run(loop) { received.count >= expectedBytes || timedOut }
        loop.runOnce(wait: false)   // anything beyond the expected bytes would show here
        guardTimer.close()
        #expect(!timedOut)
        #expect(received.count == expectedBytes)
        #expect(received == (0..<(units - dropped.count)).flatMap(Self.unit))
        client.close()
        serverConnection.close()
        listener.close()
        try loop.close()
    }

    @Test func unsentUnitsAreNamedWithTheBytesTheKernelTook() throws {
        let loop = try Loop()
        let (listener, client, serverConnection) = try Self.pair(loop, serverSide: Probe())   // never reads
        var timedOut = false
        let guardTimer = try watchdog(loop) { timedOut = true }

        let units = 250
        try client.setSendBufferSize(16 * 1024)   // loopback would otherwise buffer megabytes
        for index in 0..<units { Self.unit(index).withUnsafeBytes { _ = client.write($0) } }
        for _ in 0..<20 { loop.runOnce(wait: false) }   // let libuv push what it can

        var unsentBytes = 0
        var partlyTaken = 0
        client.forEachUnsent { chunk, taken in
            unsentBytes += chunk.count - taken
            if taken > 0 { partlyTaken += 1 }
        }
        // Everything not taken is named, the unit the kernel took in part included.
        #expect(unsentBytes > 0)
        #expect(unsentBytes == client.queuedBytes)
        #expect(partlyTaken <= 2)   // the rest of the first unit the kernel cut, and the batch in flight
        guardTimer.close()
        #expect(!timedOut)
        client.close()
        serverConnection.close()
        listener.close()
        try loop.close()
    }

    @Test func aUnitTheKernelTookInPartIsNamedWholeWithTheBytesItTook() throws {
        let loop = try Loop()
        let (listener, client, serverConnection) = try Self.pair(loop, serverSide: Probe())   // never reads
        try client.setSendBufferSize(16 * 1024)
        // One big write, which is one unit here (a server's connection splits its writes into
        // frames; SentFramesTests covers where a frame starts): the kernel takes part of it.
        let units = 250
        let bytes = (0..<units).flatMap(Self.unit)
        bytes.withUnsafeBytes { _ = client.write($0) }
        var named: [(first: Int, count: Int, taken: Int)] = []
        client.forEachUnsent { chunk, taken in
            // A unit-aligned chunk of whole units: 10 KiB each, each byte its index.
            #expect(chunk.count % (10 * 1024) == 0)
            named.append((Int(chunk[0]), chunk.count / (10 * 1024), taken))
        }
        let firstNamed = named.first?.first ?? units
        #expect(named.first?.taken ?? 0 > 0)   // the cut unit, with what the kernel took of it
        #expect(named.reduce(0) { $0 + $1.count } == units - firstNamed)   // it and every unit after it
        #expect(named.reduce(0) { $0 + $1.count * 10 * 1024 - $1.taken } == client.queuedBytes)
        client.close()
        serverConnection.close()
        listener.close()
        try loop.close()
    }

    @Test func shutdownWaitsForTheBacklogSoNothingIsCutShort() throws {
        let loop = try Loop()
        var received = 0
        var ended = false
        let serverSide = Probe()
        serverSide.onRead = { _, bytes in received += bytes.count }
        serverSide.onEnd = { connection, _ in ended = true; connection.close() }
        let (listener, client, serverConnection) = try Self.pair(loop, serverSide: serverSide)
        var timedOut = false
        let guardTimer = try watchdog(loop) { timedOut = true }
        let units = 250
        try client.setSendBufferSize(16 * 1024)   // loopback would otherwise buffer megabytes
        for index in 0..<units { Self.unit(index).withUnsafeBytes { _ = client.write($0) } }
        client.shutdown()
        try serverConnection.startReading()
        run(loop) { ended || timedOut }
        guardTimer.close()
        #expect(!timedOut)
        #expect(received == units * 10 * 1024)
        client.close()
        listener.close()
        try loop.close()
    }
}
