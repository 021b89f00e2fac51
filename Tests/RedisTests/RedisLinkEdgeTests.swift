import Redis
import Testing
import UV

/// What a misbehaving peer or a reentrant caller does to the link, against a scripted fake.
@Suite struct RedisLinkEdgeTests {
    static let pong = b("+PONG\r\n")
    static let ping = RESPEncoder.encode([b("PING")])

    /// A connection to `fake` whose handshake went through.
    static func connected(_ loop: Loop, _ fake: FakeRedis, options: RedisOptions = RedisOptions()) throws -> RedisConnection {
        let connection = try RedisConnection(loop: loop, url: fake.url, options: options)
        connection.start()
        #expect(spin(loop, seconds: 5) { connection.isConnected })
        return connection
    }

    @Test func bytesThatAreNotRESPDropTheLinkAndFailWhatWaits() throws {
        let loop = try Loop()
        var reads = 0
        let fake = try FakeRedis(loop) { _ in
            reads += 1
            return reads == 1 ? Self.pong : b("@garbage\r\n")
        }
        let connection = try Self.connected(loop, fake)
        var states: [RedisLinkState] = []
        connection.onStateChange = { states.append($0) }
        var reply: RedisReply?
        connection.send(command("GET", "k")) { reply = $0 }
        #expect(spin(loop, seconds: 5) { reply != nil })
        #expect(reply == .failure(.protocolViolation(.unknownType(UInt8(ascii: "@")))))
        #expect(states == [.disconnected(.protocolViolation(.unknownType(UInt8(ascii: "@"))))])
        connection.close()
        fake.close()
        try loop.close()
    }

    @Test func aReplyNoCommandAskedForDropsTheLink() throws {
        let loop = try Loop()
        var reads = 0
        let fake = try FakeRedis(loop) { _ in
            reads += 1
            return reads == 1 ? Self.pong : Self.pong + Self.pong   // one answer too many
        }
        let connection = try Self.connected(loop, fake)
        var states: [RedisLinkState] = []
        connection.onStateChange = { states.append($0) }
        var reply: RedisReply?
        connection.send(command("PING")) { reply = $0 }
        #expect(spin(loop, seconds: 5) { !states.isEmpty })
        #expect(reply == .simpleString(b("PONG")))
        #expect(states == [.disconnected(.unexpectedReply)])
        connection.close()
        fake.close()
        try loop.close()
    }

    @Test func aPeerThatAcceptsButNeverAnswersIsNeverReportedUp() throws {
        let loop = try Loop()
        let fake = try FakeRedis(loop) { _ in nil }
        let connection = try RedisConnection(loop: loop, url: fake.url, options: RedisOptions(commandTimeout: .milliseconds(200)))
        var states: [RedisLinkState] = []
        connection.onStateChange = { states.append($0) }
        connection.start()
        #expect(spin(loop, seconds: 5) { fake.accepted.count >= 2 })   // timed out, and tried again
        #expect(states.isEmpty)
        #expect(!connection.isConnected)
        #expect(connection.lastError == .timedOut)
        connection.close()
        fake.close()
        try loop.close()
    }

    @Test func commandsSentFromACheckHandleThatRunsAfterTheFlushStillGoOutPromptly() throws {
        let loop = try Loop()
        let fake = try FakeRedis(loop) { _ in Self.pong }
        var sendFromHook = false
        var connection: RedisConnection?
        var reply: RedisReply?
        // Created first, so it runs after the connection's own hook (libuv runs the newest first).
        let hook = try TickHook(loop: loop) {
            guard sendFromHook, let connection else { return }
            sendFromHook = false
            connection.send(command("PING")) { reply = $0 }
        }
        connection = try Self.connected(loop, fake)
        let started = loop.preciseNanoseconds
        sendFromHook = true
        loop.runOnce(wait: false)
        #expect(spin(loop, seconds: 5) { reply != nil })
        #expect(reply == .simpleString(b("PONG")))
        #expect(loop.preciseNanoseconds - started < 500_000_000)   // not parked until some later event
        hook.close()
        connection?.close()
        fake.close()
        try loop.close()
    }

    @Test func closingFromInsideAReplyFailsTheRestWithClosed() throws {
        let loop = try Loop()
        var reads = 0
        let fake = try FakeRedis(loop) { bytes in
            reads += 1
            // Every PING answered: the three replies arrive in one read.
            let pings = bytes.count / Self.ping.count
            return reads == 1 ? Self.pong : Array([[UInt8]](repeating: Self.pong, count: pings).joined())
        }
        let connection = try Self.connected(loop, fake)
        var replies: [RedisReply] = []
        connection.send(command("PING")) { reply in
            replies.append(reply)
            connection.close()
        }
        connection.send(command("PING")) { replies.append($0) }
        connection.send(command("PING")) { replies.append($0) }
        #expect(spin(loop, seconds: 5) { replies.count == 3 })
        #expect(replies == [.simpleString(b("PONG")), .failure(.closed), .failure(.closed)])
        var late: RedisReply?
        connection.send(command("PING")) { late = $0 }
        #expect(late == .failure(.closed))   // after close: at once
        fake.close()
        try loop.close()
    }

    @Test func aHostThatIsNoAddressIsRefusedAtOnce() throws {
        let loop = try Loop()
        #expect(throws: UVError.self) { _ = try RedisConnection(loop: loop, url: RedisURL(host: "redis.internal")) }
        try loop.close()
    }
}
