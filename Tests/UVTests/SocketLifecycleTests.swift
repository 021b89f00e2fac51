import CLibUV
import Testing
import UV

/// Connecting, resets and ends, now that a connection reads, writes and connects its socket itself
/// (libuv only polls it): each reports as libuv's TCP handles did.
@Suite struct SocketLifecycleTests {
    @Test func aRefusedConnectFailsAfterConnectReturns() throws {
        let loop = try Loop()
        let (listener, address) = try listen(loop)
        listener.close()   // nothing listens on the port any more
        loop.runOnce(wait: false)
        var outcome: Result<DelegatingConnection, UVError>?
        DelegatingConnection.connect(loop: loop, to: address) { outcome = $0 }
        #expect(outcome == nil)   // reported from the loop, not inside connect
        run(loop, limit: 1000) { outcome != nil }
        guard case .failure(let error) = outcome else { Issue.record("connected to a closed port"); return }
        #expect(error.code == Int32(UV_ECONNREFUSED.rawValue))
        try loop.close()
    }

    @Test func closingTheLoopWhileConnectingReportsCancelled() throws {
        let loop = try Loop()
        let (_, address) = try listen(loop)
        var outcome: Result<DelegatingConnection, UVError>?
        DelegatingConnection.connect(loop: loop, to: address) { outcome = $0 }
        try loop.close()
        guard case .failure(let error) = outcome else { Issue.record("no failure reported"); return }
        #expect(error.code == Int32(UV_ECANCELED.rawValue))
    }

    @Test func aPeerResetEndsTheReaderWithAnError() throws {
        let loop = try Loop()
        let (client, server, listener) = try connectedPair(loop)
        var ended: UVError??
        let serverSide = Probe()
        serverSide.onEnd = { connection, error in ended = .some(error); connection.close() }
        server.delegate = serverSide
        try server.startReading()
        client.closeWithReset()
        run(loop, limit: 1000) { ended != nil }
        #expect(ended??.code == Int32(UV_ECONNRESET.rawValue))
        listener.close()
        try loop.close()
    }

    @Test func aResetAfterShutdownIsAPlainCloseSoWhatWasSentArrives() throws {
        let loop = try Loop()
        let (client, server, listener) = try connectedPair(loop)
        var received = 0
        var ended: UVError??
        let serverSide = Probe()
        serverSide.onRead = { _, bytes in received += bytes.count }
        serverSide.onEnd = { connection, error in ended = .some(error); connection.close() }
        server.delegate = serverSide
        [UInt8](repeating: 7, count: 1000).withUnsafeBytes { _ = client.write($0) }
        client.shutdown()
        client.closeWithReset()   // as libuv's uv_tcp_close_reset: refused after a shutdown
        try server.startReading()
        run(loop, limit: 1000) { ended != nil }
        #expect(received == 1000)
        #expect(ended == .some(nil))   // EOF, not ECONNRESET
        listener.close()
        try loop.close()
    }

    @Test func startingToReadTwiceOrAfterCloseFailsAsLibuvDid() throws {
        let loop = try Loop()
        let (client, server, listener) = try connectedPair(loop)
        try server.startReading()
        #expect(throws: UVError(Int32(UV_EALREADY.rawValue))) { try server.startReading() }
        client.close()
        #expect(throws: UVError(Int32(UV_EINVAL.rawValue))) { try client.startReading() }
        server.close()
        listener.close()
        try loop.close()
    }

    @Test func aCloseDuringIOCallbacksIsClosingAtOnceAndFinishesInTheSameIteration() throws {
        let loop = try Loop()
        let (client, server, listener) = try connectedPair(loop)
        var reads = 0
        var closingAtOnce = false
        var writeRefused = false
        let serverSide = Probe()
        serverSide.onRead = { connection, _ in
            reads += 1
            connection.close()
            closingAtOnce = connection.isClosing
            writeRefused = [UInt8](repeating: 1, count: 4).withUnsafeBytes { !connection.write($0) }
        }
        server.delegate = serverSide
        try server.startReading()
        [UInt8](repeating: 7, count: 10).withUnsafeBytes { _ = client.write($0) }
        var iterations = 0
        while reads == 0 && iterations < 1000 {
            loop.runOnce(wait: true)
            iterations += 1
        }
        #expect(reads == 1)
        #expect(closingAtOnce && writeRefused)
        #expect(serverSide.closed == 1)   // uv_close after the I/O callbacks, its callback this same iteration
        client.close()
        listener.close()
        try loop.close()
    }

    @Test func watchChangesMadeDuringIOCallbacksAreFoldedIntoOneAfterThem() throws {
        let loop = try Loop()
        let (listener, address) = try listen(loop)
        var readsWhilePaused = 0
        var reads = 0
        var accepted: DelegatingConnection?
        let serverSide = Probe()
        serverSide.onRead = { _, _ in reads += 1 }
        listener.onConnection = { connection, _ in   // inside the listener's I/O callback
            let connection = connection as! DelegatingConnection
            connection.delegate = serverSide
            try? connection.startReading()
            connection.stopReading()
            accepted = connection
        }
        var client: DelegatingConnection?
        DelegatingConnection.connect(loop: loop, to: address) { client = try? $0.get() }
        run(loop, limit: 1000) { accepted != nil && client != nil }
        [UInt8](repeating: 7, count: 10).withUnsafeBytes { _ = client!.write($0) }
        for _ in 0..<20 { loop.runOnce(wait: false) }
        readsWhilePaused = reads
        try accepted!.startReading()
        run(loop, limit: 1000) { reads > 0 }
        #expect(readsWhilePaused == 0 && reads == 1)
        client!.close()
        accepted!.close()
        listener.close()
        try loop.close()
    }

    /// A client and the server side of its connection, both delegating (to nobody yet).
    private func connectedPair(_ loop: Loop) throws -> (DelegatingConnection, DelegatingConnection, TCPListener) {
        let (listener, address) = try listen(loop)
        var server: DelegatingConnection?
        listener.onConnection = { connection, _ in server = connection as? DelegatingConnection }
        var client: DelegatingConnection?
        DelegatingConnection.connect(loop: loop, to: address) { client = try? $0.get() }
        run(loop, limit: 1000) { client != nil && server != nil }
        guard let client, let server else { throw UVError(Int32(UV_ETIMEDOUT.rawValue)) }
        return (client, server, listener)
    }
}
