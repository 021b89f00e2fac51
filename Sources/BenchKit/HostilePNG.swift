import UV

/// Pipelined PNGs: plain HTTP connections that write 128 `GET /pair/ID.png?scale=32` requests in
/// one write, once a second each (staggered). Half read slowly (100 ms in each second), half never
/// read, so the answers pile up in the server. A connection the server ends is opened again.
final class HostilePNGClients: HostileKind {
    fileprivate(set) var tally = HostileTally(kind: "png")
    private var clients: [PNGClient] = []
    private var stopped = false

    static let requestsPerBatch = 128

    init(loop: Loop, target: BenchTarget, source: String, count: Int) throws {
        tally.clients = count
        let server = try SocketAddress(host: target.host, port: target.port)
        let from = try SocketAddress(host: source, port: 0)
        clients = (0..<count).map { PNGClient(owner: self, index: $0, loop: loop, server: server, source: from, target: target) }
    }

    func tick(now: UInt64) {
        guard !stopped else { return }
        for client in clients { client.tick(now: now) }
    }

    func stop() {
        stopped = true
        for client in clients { client.stop() }
    }

    fileprivate var isStopped: Bool { stopped }
}

private final class PNGClient: TCPConnectionDelegate {
    unowned let owner: HostilePNGClients
    let index: Int
    let loop: Loop
    let server: SocketAddress
    let source: SocketAddress
    let target: BenchTarget
    var connection: DelegatingConnection?
    var connecting = false
    var reading = false
    var retryAt: UInt64 = 0
    var lastSlot: UInt64 = 0
    var batches = 0
    var responses = ResponseCounter()

    init(owner: HostilePNGClients, index: Int, loop: Loop, server: SocketAddress, source: SocketAddress, target: BenchTarget) {
        self.owner = owner
        self.index = index
        self.loop = loop
        self.server = server
        self.source = source
        self.target = target
    }

    var slowReader: Bool { index % 2 == 0 }

    func tick(now: UInt64) {
        guard let connection else {
            if !connecting && now >= retryAt { connect() }
            return
        }
        let slot = now / 100_000_000
        guard slot != lastSlot else { return }
        lastSlot = slot
        switch (slot + UInt64(index)) % 10 {
        case 0: writeBatch(connection)
        case 5 where slowReader:
            reading = (try? connection.startReading()) != nil
        case 6 where reading:
            connection.stopReading()
            reading = false
        default: break
        }
    }

    private func connect() {
        connecting = true
        DelegatingConnection.connect(loop: loop, to: server, from: source) { [self] result in
            connecting = false
            switch result {
            case .failure:
                owner.tally.count("connect_failed")
                retryAt = monotonicNanoseconds() + 500_000_000
            case .success(let connection):
                guard !owner.isStopped else { return connection.closeWithReset() }
                owner.tally.connections += 1
                connection.delegate = self
                self.connection = connection
                responses = ResponseCounter()
            }
        }
    }

    private func writeBatch(_ connection: DelegatingConnection) {
        var text = ""
        for request in 0..<HostilePNGClients.requestsPerBatch {
            let id = "\(target.idPrefix)x-png-\(index)-\(batches * HostilePNGClients.requestsPerBatch + request)"
            text += "GET /pair/\(id).png?scale=32 HTTP/1.1\r\nHost: \(target.host)\r\n\r\n"
        }
        batches += 1
        let written = Array(text.utf8).withUnsafeBytes { connection.write($0) }
        if written {
            owner.tally.count("requests_sent", HostilePNGClients.requestsPerBatch)
        } else {
            connection.closeWithReset()   // the server reset it; reopen after the close callback
        }
    }

    func stop() { connection?.closeWithReset() }

    func connection(_ connection: DelegatingConnection, didRead bytes: UnsafeMutableRawBufferPointer) {
        owner.tally.bytesRead += bytes.count
        responses.feed(UnsafeRawBufferPointer(bytes)) { [owner] status in
            if status >= 400 { owner.tally.refusals[status, default: 0] += 1 } else { owner.tally.count("answered_\(status)") }
        }
    }

    func connection(_ connection: DelegatingConnection, didEndWith error: UVError?) { connection.close() }

    func connectionDidClose(_ connection: DelegatingConnection) {
        guard self.connection === connection else { return }
        if !owner.isStopped { owner.tally.endedByServer += 1 }
        self.connection = nil
        reading = false
        retryAt = monotonicNanoseconds() + 500_000_000
    }
}

/// Counts pipelined HTTP answers by status: reads each head, then skips its Content-Length body.
struct ResponseCounter {
    private var head: [UInt8] = []
    private var bodyLeft = 0

    mutating func feed(_ bytes: UnsafeRawBufferPointer, answered: (Int) -> Void) {
        var index = 0
        while index < bytes.count {
            if bodyLeft > 0 {
                let take = min(bodyLeft, bytes.count - index)
                bodyLeft -= take
                index += take
                continue
            }
            head.append(bytes[index])
            index += 1
            if head.count >= 4 && head[head.count - 4] == 13 && head[head.count - 3] == 10 && head[head.count - 2] == 13 && head[head.count - 1] == 10 {
                let text = String(decoding: head, as: UTF8.self)
                head.removeAll(keepingCapacity: true)
                if let status = Int(text.dropFirst(9).prefix(3)) { answered(status) }
                for line in text.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    bodyLeft = Int(String(line.dropFirst(15).filter { $0 != " " })) ?? 0
                }
            } else if head.count > 16384 {
                head.removeAll()   // lost the framing: start over at the next head
            }
        }
    }
}
