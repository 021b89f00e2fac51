import UV

/// A delegate built from closures, so each test states only the reactions it cares about.
final class Probe: TCPConnectionDelegate {
    var onRead: (TCPConnection, UnsafeMutableRawBufferPointer) -> Void = { _, _ in }
    var onEnd: (TCPConnection, UVError?) -> Void = { connection, _ in connection.close() }
    var onDrain: (TCPConnection) -> Void = { _ in }
    var closed = 0

    func connection(_ connection: DelegatingConnection, didRead bytes: UnsafeMutableRawBufferPointer) { onRead(connection, bytes) }
    func connection(_ connection: DelegatingConnection, didEndWith error: UVError?) { onEnd(connection, error) }
    func connectionDidDrain(_ connection: DelegatingConnection) { onDrain(connection) }
    func connectionDidClose(_ connection: DelegatingConnection) { closed += 1 }
}

/// Runs the loop one iteration at a time until `done` holds, at most `limit` iterations.
func run(_ loop: Loop, limit: Int = 1_000_000, until done: () -> Bool) {
    var iterations = 0
    while !done() && iterations < limit {
        loop.runOnce(wait: true)
        iterations += 1
    }
}

func listen(_ loop: Loop) throws -> (TCPListener, SocketAddress) {
    let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
    let port = listener.localAddress!.port
    return (listener, try SocketAddress(host: "127.0.0.1", port: port))
}

/// A timer that fails a stuck test instead of letting it hang: it stops the loop after `ms`.
func watchdog(_ loop: Loop, ms: UInt64 = 20_000, fired: @escaping () -> Void) throws -> Timer {
    let timer = try Timer(loop: loop)
    timer.start(afterMilliseconds: ms) { fired() }
    return timer
}

/// `count` clients connected to a new listener on `loop`; each accepted socket reads into `serverSide`.
func connectedClients(_ loop: Loop, count: Int = 1, serverSide: Probe) throws -> (clients: [DelegatingConnection], accepted: [TCPConnection]) {
    let (listener, address) = try listen(loop)
    var accepted: [TCPConnection] = []
    listener.onConnection = { connection, _ in
        (connection as! DelegatingConnection).delegate = serverSide
        try? connection.startReading()
        accepted.append(connection)
    }
    var clients: [DelegatingConnection] = []
    for _ in 0..<count { DelegatingConnection.connect(loop: loop, to: address) { if let client = try? $0.get() { clients.append(client) } } }
    run(loop, limit: 1000) { clients.count == count && accepted.count == count }
    guard clients.count == count, accepted.count == count else { throw NotConnected() }
    return (clients, accepted)
}

struct NotConnected: Error {}
