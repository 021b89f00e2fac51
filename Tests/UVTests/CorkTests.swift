import Testing
import UV

@Suite struct CorkTests {
    @Test func sendsInOneIterationGoOutTogetherInOrderWithDirectWrites() throws {
        let loop = try Loop()
        var received: [UInt8] = []
        var reads = 0
        let serverSide = Probe()
        serverSide.onRead = { _, bytes in received.append(contentsOf: bytes); reads += 1 }
        let sender = try connectedClients(loop, serverSide: serverSide).clients[0]

        [UInt8]([1, 2]).withUnsafeBytes { a in [UInt8]([3]).withUnsafeBytes { b in sender.send(a, b) } }
        [UInt8]([4]).withUnsafeBytes { sender.send($0) }
        #expect(sender.corkedBytes == 4)
        #expect(sender.queuedBytes >= 4)
        [UInt8]([5, 6]).withUnsafeBytes { _ = sender.write($0) }     // a direct write sends the cork first
        #expect(sender.corkedBytes == 0)
        [UInt8]([7]).withUnsafeBytes { sender.send($0) }
        #expect(sender.corkedBytes == 1)
        loop.runOnce(wait: false)                                    // end of iteration: flushed
        #expect(sender.corkedBytes == 0)

        var timedOut = false
        let guardTimer = try watchdog(loop) { timedOut = true }
        run(loop) { received.count >= 7 || timedOut }
        guardTimer.close()
        #expect(received == [1, 2, 3, 4, 5, 6, 7])
        try loop.close()
    }

    /// A timer's sends go out before the loop waits for I/O, not when the next wake-up comes.
    @Test func bytesSentFromATimerLeaveBeforeTheLoopWaits() throws {
        let loop = try Loop()
        var received: [UInt8] = []
        let serverSide = Probe()
        serverSide.onRead = { _, bytes in received.append(contentsOf: bytes) }
        let sender = try connectedClients(loop, serverSide: serverSide).clients[0]

        var timedOut = false
        let guardTimer = try watchdog(loop, ms: 5_000) { timedOut = true }
        let timer = try Timer(loop: loop)
        timer.start(afterMilliseconds: 0) { [UInt8]([9, 8]).withUnsafeBytes { sender.send($0) } }
        // One iteration: the timer sends, the bytes are flushed before poll, poll sees them arrive.
        loop.runOnce(wait: true)
        #expect(received == [9, 8])
        #expect(!timedOut)
        timer.close()
        guardTimer.close()
        try loop.close()
    }

    /// In a wakeup with many sockets to read, what the first reads routed leaves after a few of
    /// them (`Loop.flushAfterReads`), not after all.
    @Test func gatheredBytesLeaveAfterAFewSocketsReads() throws {
        let loop = try Loop()
        let serverSide = Probe()
        let (clients, accepted) = try connectedClients(loop, count: 6, serverSide: serverSide)
        let peer = accepted[0]   // gathers what the other sockets' reads "route"
        var corkedSeen: [Int] = []
        serverSide.onRead = { _, _ in
            if corkedSeen.isEmpty { [UInt8]([1, 2, 3]).withUnsafeBytes { peer.send($0) } }
            corkedSeen.append(peer.corkedBytes)
        }
        for client in clients.dropFirst() { _ = [UInt8]([7]).withUnsafeBytes { client.write($0) } }
        loop.runOnce(wait: true)   // the five sockets are readable together: one wakeup
        #expect(corkedSeen == [3, 3, 3, 3, 0])
        try loop.close()
    }
}
