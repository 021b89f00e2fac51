import Redis
import UV

/// A scripted peer on the test's own loop: `answer` gets each read and returns what to write
/// back (nil: stay silent, as a frozen Redis does).
final class FakeRedis: TCPConnectionDelegate {
    let listener: TCPListener
    let port: Int
    var answer: ([UInt8]) -> [UInt8]?
    private(set) var accepted: [DelegatingConnection] = []

    init(_ loop: Loop, answer: @escaping ([UInt8]) -> [UInt8]?) throws {
        listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        port = listener.localAddress!.port
        self.answer = answer
        listener.onConnection = { [unowned self] connection, _ in
            let connection = connection as! DelegatingConnection
            connection.delegate = self
            accepted.append(connection)
            try? connection.startReading()
        }
    }

    var url: RedisURL { RedisURL(host: "127.0.0.1", port: port) }

    func connection(_ connection: DelegatingConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        guard let reply = answer(Array(bytes)) else { return }
        reply.withUnsafeBytes { _ = connection.write($0) }
    }

    func connection(_ connection: DelegatingConnection, didEndWith error: UVError?) { connection.close() }

    func close() {
        listener.close()
        for connection in accepted { connection.close() }
    }
}
