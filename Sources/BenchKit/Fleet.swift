import Histogram
import UV

/// Where and how the bench connects.
public struct BenchTarget {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Spread client sockets over 127.0.0.1 ... 127.0.0.K (each source address has its own ports).
    public var sourceAddresses = 1
    public var idPrefix = ""
    /// "query" (/?device_id=ID) or "path" (/ID).
    public var pathForm = "query"
    public var maxHandshakesInFlight = 256
    public var serverPID: Int32?
    /// More processes whose CPU a scenario reports per message (a cluster's other nodes, redis-server).
    public var extraPIDs: [(name: String, pid: Int32)] = []
    /// Cluster rows: the recipients (route's boxes) connect to this port, another node, instead.
    public var recipientPort: Int?
    /// Token mode: the device token for an id (minted before the clients start, off the clock).
    public var token: ((String) -> String)?
    /// TLS and permessage-deflate for every client (`--tls`, `--deflate`).
    public var client = WSClientOptions()

    public init() {}

    func path(for id: String, token: String? = nil) -> String {
        let base = pathForm == "path" ? "/\(id)" : "/?device_id=\(id)"
        guard let token else { return base }
        return base + (pathForm == "path" ? "?token=" : "&token=") + token
    }
}

/// A set of bench clients opened with a bounded number of handshakes in flight.
public final class Fleet: WSClientDelegate {
    let loop: Loop
    let target: BenchTarget
    private let address: SocketAddress
    private let sources: [SocketAddress]
    public private(set) var clients: [WSClient] = []
    public private(set) var ids: [String] = []
    private var addresses: [SocketAddress] = []
    private var tokens: [String?] = []
    private var nextToStart = 0
    private var inFlight = 0
    public private(set) var opened = 0
    public private(set) var failed = 0
    public private(set) var ended = 0
    public private(set) var failureReasons: [String: Int] = [:]
    public var handshakes = newLatencyHistogram()
    public var lastOpenedAt: UInt64 = 0

    public var onText: (WSClient, UnsafeRawBufferPointer) -> Void = { _, _ in }

    public init(loop: Loop, target: BenchTarget) throws {
        self.loop = loop
        self.target = target
        address = try SocketAddress(host: target.host, port: target.port)
        sources = try (0..<max(1, target.sourceAddresses)).map { try SocketAddress(host: "127.0.0.\($0 + 1)", port: 0) }
    }

    /// Starts opening one client per id; `clients[i]` speaks for `ids[i]` (indexes continue
    /// across calls). `port` sends these to another port of the target's host (another node).
    public func open(_ newIDs: [String], port: Int? = nil) {
        let destination = port.flatMap { try? SocketAddress(host: target.host, port: $0) } ?? address
        for id in newIDs {
            ids.append(id)
            addresses.append(destination)
            tokens.append(target.token?(id))
            clients.append(WSClient(index: clients.count, delegate: self, options: target.client))
        }
        pump()
    }

    public var settled: Bool { opened + failed == clients.count }

    private func pump() {
        while inFlight < target.maxHandshakesInFlight && nextToStart < clients.count {
            let client = clients[nextToStart]
            let source = target.sourceAddresses > 1 ? sources[nextToStart % sources.count] : nil
            inFlight += 1
            client.connect(loop: loop, to: addresses[nextToStart], from: source, path: target.path(for: ids[nextToStart], token: tokens[nextToStart]), host: target.host)
            nextToStart += 1
        }
    }

    public func clientDidOpen(_ client: WSClient) {
        inFlight -= 1
        opened += 1
        lastOpenedAt = monotonicNanoseconds()
        handshakes.record(lastOpenedAt - client.handshakeStarted)
        pump()
    }

    public func client(_ client: WSClient, didReceiveText payload: UnsafeRawBufferPointer) {
        onText(client, payload)
    }

    public func clientDidEnd(_ client: WSClient, opened wasOpen: Bool, reason: String) {
        ended += 1
        if !wasOpen {
            inFlight -= 1
            failed += 1
            failureReasons[reason, default: 0] += 1
            pump()
        }
    }

    public func closeAll() { for client in clients { client.close() } }
    public func abortAll() { for client in clients { client.abort() } }
}

/// Runs `loop` until `done()` or `seconds` pass; a 50 ms timer wakes it to check (and to print
/// progress every second when `progress` is given). Returns whether `done()` became true.
@discardableResult
public func runLoop(_ loop: Loop, seconds: Double, progress: (() -> String)? = nil, until done: () -> Bool) -> Bool {
    let start = monotonicNanoseconds()
    let deadline = start + UInt64(seconds * 1e9)
    var lastProgress = start
    let ticker = try? Timer(loop: loop)
    ticker?.start(afterMilliseconds: 50, repeatEvery: 50) {}
    defer { ticker?.close() }
    while !done() {
        let now = monotonicNanoseconds()
        if now >= deadline { return false }
        if let progress, now - lastProgress >= 1_000_000_000 {
            lastProgress = now
            fputsStderr(progress())
        }
        loop.runOnce(wait: true)
    }
    return true
}

func fputsStderr(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = fwriteStderr($0) }
}
