import Foundation
import Redis
import Testing
import UV

extension RedisServerSuite {
    /// Pipelining, large replies and databases against a real redis-server.
    @Suite struct RedisConnectionTests {
        @Test func tenThousandSetsAndGetsSentInOneIterationGoOutInOneWriteAndAnswerInOrder() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server)
            let connection = link.connection
            let writesBefore = connection.writeCount
            var answered = 0
            var outOfOrder = 0
            var wrong = 0
            for index in 0..<10_000 {
                connection.send([b("SET"), b("key:\(index)"), b("value:\(index)")]) { reply in
                    if answered != 2 * index { outOfOrder += 1 }
                    if reply != .simpleString(b("OK")) { wrong += 1 }
                    answered += 1
                }
                connection.send([b("GET"), b("key:\(index)")]) { reply in
                    if answered != 2 * index + 1 { outOfOrder += 1 }
                    if reply != .bulkString(b("value:\(index)")) { wrong += 1 }
                    answered += 1
                }
            }
            #expect(answered == 0)   // nothing is answered from inside send
            #expect(spin(loop) { answered == 20_000 })
            #expect(outOfOrder == 0)
            #expect(wrong == 0)
            #expect(connection.writeCount - writesBefore == 1)
            connection.close()
            try loop.close()
        }

        @Test func aValueOverOneMegabyteRoundTripsWhole() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server)
            var random = SeededRandom(seed: 11)
            let value = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
            var replies: [RedisReply] = []
            link.connection.send([b("SET"), b("big"), value]) { replies.append($0) }
            link.connection.send([b("GET"), b("big")]) { replies.append($0) }
            link.connection.send([b("STRLEN"), b("big")]) { replies.append($0) }
            #expect(spin(loop) { replies.count == 3 })
            #expect(replies == [.simpleString(b("OK")), .bulkString(value), .integer(Int64(value.count))])
            link.connection.close()
            try loop.close()
        }

        @Test func theURLsDatabaseIsSelectedOnConnect() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let three = try Link(loop, server, database: 3)
            let zero = try Link(loop, server)
            #expect(three.call(loop, command("SET", "where", "three")) == .simpleString(b("OK")))
            #expect(zero.call(loop, command("GET", "where")) == .bulkString(nil))
            #expect(three.call(loop, command("GET", "where")) == .bulkString(b("three")))
            three.connection.close()
            zero.connection.close()
            try loop.close()
        }

        @Test func aRefusedSelectKeepsTheLinkDownAndSaysWhy() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let connection = try RedisConnection(loop: loop, url: RedisURL(host: "127.0.0.1", port: server.port, database: 999))
            connection.start()
            #expect(spin(loop, seconds: 5) {
                if case .handshakeRefused = connection.lastError { return true }
                return false
            })
            #expect(!connection.isConnected)
            #expect(connection.lastError == .handshakeRefused(b("ERR DB index is out of range")))
            connection.close()
            try loop.close()
        }

        @Test func serverErrorsAreRepliesAndLeaveTheLinkUp() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server)
            #expect(link.call(loop, command("NOSUCHCOMMAND"))?.isError(code: "ERR") == true)
            #expect(link.call(loop, command("PING")) == .simpleString(b("PONG")))
            #expect(link.connection.isConnected)
            #expect(link.states == [.connected])
            link.connection.close()
            #expect(link.states == [.connected, .disconnected(.closed)])
            try loop.close()
        }
    }
}
