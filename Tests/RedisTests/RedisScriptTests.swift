import Foundation
import Redis
import Testing
import UV

extension RedisServerSuite {
    /// Scripts run by hash, loaded when Redis lacks them.
    @Suite struct RedisScriptTests {
        static let claim = """
            local previous = redis.call('GET', KEYS[1])
            redis.call('SET', KEYS[1], ARGV[1])
            return previous
            """

        /// EVALSHA calls and how many failed (NOSCRIPT), from INFO commandstats.
        static func evalshaStats(_ loop: Loop, _ link: Link) -> (calls: Int, failed: Int) {
            let text = link.call(loop, command("INFO", "commandstats"))?.string ?? ""
            guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:") }) else { return (0, 0) }
            var fields: [Substring: Int] = [:]
            for pair in line.dropFirst("cmdstat_evalsha:".count).split(separator: ",") {
                let parts = pair.split(separator: "=")
                if parts.count == 2 { fields[parts[0]] = Int(parts[1]) ?? 0 }
            }
            return (fields["calls"] ?? 0, (fields["failed_calls"] ?? 0) + (fields["rejected_calls"] ?? 0))
        }

        func run(_ loop: Loop, _ script: RedisScript, on link: Link, keys: [[UInt8]], arguments: [[UInt8]]) -> RedisReply? {
            var answer: RedisReply?
            script.run(on: link.connection, keys: keys, arguments: arguments) { answer = $0 }
            spin(loop) { answer != nil }
            return answer
        }

        @Test func theHashIsTheOneRedisGivesTheScript() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server)
            let script = RedisScript(Self.claim)
            #expect(link.call(loop, [b("SCRIPT"), b("LOAD"), script.source]) == .bulkString(script.sha1))
            link.connection.close()
            try loop.close()
        }

        @Test func aScriptRunsByHashAndSurvivesScriptFlushAndARestartedRedis() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server)
            let script = RedisScript(Self.claim)

            // The first call loads the source in the same write: no NOSCRIPT round trip.
            #expect(run(loop, script, on: link, keys: [b("tether:dev:box-1")], arguments: [b("node-a")]) == .bulkString(nil))
            #expect(run(loop, script, on: link, keys: [b("tether:dev:box-1")], arguments: [b("node-b")]) == .bulkString(b("node-a")))
            #expect(Self.evalshaStats(loop, link) == (2, 0))

            #expect(link.call(loop, command("SCRIPT", "FLUSH")) == .simpleString(b("OK")))
            #expect(run(loop, script, on: link, keys: [b("tether:dev:box-1")], arguments: [b("node-c")]) == .bulkString(b("node-b")))
            #expect(Self.evalshaStats(loop, link) == (4, 1))   // one NOSCRIPT, then the retry

            server.kill()
            try server.start()
            #expect(spin(loop, seconds: 10) { link.connects == 2 })
            #expect(run(loop, script, on: link, keys: [b("tether:dev:box-1")], arguments: [b("node-d")]) == .bulkString(nil))
            #expect(Self.evalshaStats(loop, link) == (1, 0))   // loaded again with the first call after the reconnect
            link.connection.close()
            try loop.close()
        }

        @Test func aScriptRedisRefusesReportsTheLoadError() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let link = try Link(loop, server)
            let broken = RedisScript("return +")
            let answer = run(loop, broken, on: link, keys: [], arguments: [])
            #expect(answer?.isError(code: "ERR") == true, "\(String(describing: answer))")
            #expect(answer?.string?.contains("NOSCRIPT") == false)
            link.connection.close()
            try loop.close()
        }
    }
}
