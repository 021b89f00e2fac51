import Foundation
import Redis
import UV

/// Runs `loop` until `done` holds or `seconds` pass; true if `done` held.
@discardableResult
func spin(_ loop: Loop, seconds: Double = 10, until done: () -> Bool) -> Bool {
    let timer = try! Timer(loop: loop)
    var expired = false
    timer.start(afterMilliseconds: UInt64(seconds * 1000)) { expired = true }
    while !done() && !expired { loop.runOnce(wait: true) }
    timer.close()
    return done()
}

/// Runs `loop` for `seconds` whatever happens.
func spin(_ loop: Loop, for seconds: Double) {
    spin(loop, seconds: seconds) { false }
}

/// A started connection to `server` whose link is up, with counters of its hooks.
final class Link {
    let connection: RedisConnection
    var connects = 0
    var states: [RedisLinkState] = []

    init(_ loop: Loop, _ server: RedisServer, database: Int? = nil, options: RedisOptions = RedisOptions()) throws {
        connection = try RedisConnection(loop: loop, url: RedisURL(host: "127.0.0.1", port: server.port, database: database), options: options)
        connection.onConnect = { [unowned self] _ in connects += 1 }
        connection.onStateChange = { [unowned self] in states.append($0) }
        connection.start()
        guard spin(loop, until: { connection.isConnected }) else { throw NotConnected(error: connection.lastError) }
    }

    /// Sends `command` and runs the loop until its reply comes.
    func call(_ loop: Loop, _ command: [[UInt8]]) -> RedisReply? {
        var answer: RedisReply?
        connection.send(command) { answer = $0 }
        spin(loop) { answer != nil }
        return answer
    }

    struct NotConnected: Error { let error: RedisError? }
}
