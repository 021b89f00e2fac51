import Foundation
import Redis
import Testing
import UV

extension RedisServerSuite {
    /// A lost, restarted or frozen Redis: no callback is left hanging and the link comes back.
    @Suite struct RedisFailureTests {
        @Test func commandsSentWhileDownFailAtTheEndOfTheIterationNotInsideSend() throws {
            let server = try RedisServer()
            let port = server.port
            server.stop()   // nothing listens there now
            let loop = try Loop()
            let connection = try RedisConnection(loop: loop, url: RedisURL(host: "127.0.0.1", port: port))
            connection.start()
            var reply: RedisReply?
            connection.send(command("PING")) { reply = $0 }
            #expect(reply == nil)
            #expect(spin(loop, seconds: 5) { reply != nil })
            #expect(reply == .failure(.notConnected))
            #expect(spin(loop, seconds: 5) { connection.lastError != nil })
            #expect(connection.lastError == .connectFailed(UVError(-ECONNREFUSED)))
            connection.close()
            try loop.close()
        }

        @Test func aKilledAndRestartedRedisFailsWhatWasWaitingAndRunsOnConnectAgain() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server)
            #expect(link.connects == 1)
            var blocked: RedisReply?
            link.connection.send(command("BLPOP", "never", "0"), timeout: .seconds(60)) { blocked = $0 }
            var queued: RedisReply?
            link.connection.send(command("PING")) { queued = $0 }   // behind the BLPOP
            spin(loop, for: 0.1)
            #expect(blocked == nil && queued == nil)

            server.kill()
            #expect(spin(loop, seconds: 5) { blocked != nil && queued != nil })
            #expect(blocked == .failure(.disconnected(nil)))
            #expect(queued == .failure(.disconnected(nil)))
            #expect(link.states == [.connected, .disconnected(.disconnected(nil))])
            #expect(!link.connection.isConnected)

            try server.start()
            #expect(spin(loop, seconds: 10) { link.connects == 2 })
            #expect(link.states.last == .connected)
            #expect(link.call(loop, command("PING")) == .simpleString(b("PONG")))
            link.connection.close()
            try loop.close()
        }

        @Test func aFrozenRedisIsDetectedWithinTheCommandDeadline() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server, options: RedisOptions(commandTimeout: .milliseconds(800)))
            server.freeze()
            let sent = loop.preciseNanoseconds
            var reply: RedisReply?
            var failedAfter: Double = 0
            link.connection.send(command("PING")) { answer in
                reply = answer
                failedAfter = Double(loop.preciseNanoseconds - sent) / 1e9
            }
            #expect(spin(loop, seconds: 5) { reply != nil })
            #expect(reply == .failure(.timedOut))
            #expect(failedAfter >= 0.75 && failedAfter < 1.5, "failed after \(failedAfter) s")
            #expect(link.states == [.connected, .disconnected(.timedOut)])

            // The kernel still accepts connections for a stopped process: only the handshake shows it is frozen.
            spin(loop, for: 2)
            #expect(!link.connection.isConnected)
            #expect(link.connects == 1)
            #expect(link.connection.lastError == .timedOut)

            server.thaw()
            #expect(spin(loop, seconds: 10) { link.connects == 2 })
            #expect(link.call(loop, command("PING")) == .simpleString(b("PONG")))
            link.connection.close()
            server.stop()
            try loop.close()
        }

        @Test func aLongerDeadlineForOneCommandHoldsForTheCommandsBehindIt() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server, options: RedisOptions(commandTimeout: .milliseconds(300)))
            var replies: [RedisReply] = []
            link.connection.send(command("BLPOP", "list", "1"), timeout: .seconds(3)) { replies.append($0) }
            link.connection.send(command("PING")) { replies.append($0) }
            #expect(spin(loop, seconds: 5) { replies.count == 2 })
            #expect(replies == [.array(nil), .simpleString(b("PONG"))])
            #expect(link.connection.isConnected)
            link.connection.close()
            try loop.close()
        }
    }
}
