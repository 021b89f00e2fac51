import UV

/// Connect/close loops: each connects as a device, ends the connection as soon as it opens and
/// connects again 10 ms after it ended. Seven ends in eight are resets, so TIME_WAIT does not use
/// up the hostile address's ports; the eighth is a polite close. Refusals are counted by status.
final class HostileConnectLoops: HostileKind, WSClientDelegate {
    private(set) var tally = HostileTally(kind: "connectloop")
    private let loop: Loop
    private let target: BenchTarget
    private let server: SocketAddress
    private let source: SocketAddress
    private var clients: [WSClient?]
    private var nextAt: [UInt64]
    private var stopped = false

    static let gap: UInt64 = 10_000_000

    init(loop: Loop, target: BenchTarget, source: String, count: Int) throws {
        self.loop = loop
        self.target = target
        server = try SocketAddress(host: target.host, port: target.port)
        self.source = try SocketAddress(host: source, port: 0)
        tally.clients = count
        clients = Array(repeating: nil, count: count)
        nextAt = Array(repeating: 0, count: count)
    }

    func tick(now: UInt64) {
        guard !stopped else { return }
        for index in clients.indices where clients[index] == nil && now >= nextAt[index] {
            let client = WSClient(index: index, delegate: self)
            clients[index] = client
            tally.count("attempts")
            client.connect(loop: loop, to: server, from: source, path: target.path(for: "\(target.idPrefix)x-cc-\(index)"), host: target.host)
        }
    }

    func stop() {
        stopped = true
        for client in clients { client?.abort() }
    }

    func clientDidOpen(_ client: WSClient) {
        tally.connections += 1
        if tally.connections % 8 == 0 { client.close() } else { client.abort() }
    }

    func client(_ client: WSClient, didReceiveText payload: UnsafeRawBufferPointer) {
        tally.bytesRead += payload.count   // its own online, at most
    }

    func clientDidEnd(_ client: WSClient, opened: Bool, reason: String) {
        if !opened && !stopped {
            if let status = refusedStatus(reason) {
                tally.refusals[status, default: 0] += 1
            } else {
                tally.count(reason.hasPrefix("connect") ? "connect_failed" : "handshake_failed")
            }
        }
        guard clients[client.index] === client else { return }
        clients[client.index] = nil
        nextAt[client.index] = monotonicNanoseconds() + Self.gap
    }
}
