import Console
import UV

/// The operator console's server side: signed-in sessions, the ring of recent events, the last
/// 15 minutes of samples and the live streams. It exists when --console is on and an API key is
/// configured. One sample a second is built and encoded once, then the same bytes are written to
/// every open console; the timer runs only while one is open.
final class OperatorConsole {
    unowned(unsafe) let server: Server
    var sessions = ConsoleSessions()
    private(set) var events = EventRing()
    private(set) var history = SampleHistory()
    /// The cluster layer's answers for the node table and device lookups (nil on a single node).
    weak var cluster: ClusterView?
    /// Open streams and the session each was opened with (it ends with its session).
    private var streams: [ObjectIdentifier: (connection: Connection, session: String)] = [:]
    private var timer: Timer?
    private var lastReading: CounterReading?
    /// The newest event already sent in a tick.
    private var sentSeq: UInt64 = 0

    init(server: Server) {
        self.server = server
    }

    var streamCount: Int { streams.count }

    func record(_ kind: ConsoleEvent.Kind, device: String, code: UInt16 = 0, detail: String = "") {
        events.record(kind, device: device, code: code, detail: detail, time: WallClock.milliseconds())
    }

    // MARK: Live streams

    /// A response without a length: its body is the stream, until either side closes.
    private static let streamHead = Array(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        + "X-Content-Type-Options: nosniff\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n").utf8)

    /// `connection` becomes a live stream for `session`: it gets the head, everything kept so far,
    /// then each tick.
    func join(_ connection: Connection, session: String) {
        connection.becomeStream()
        let nodes = nodeRows()
        let first = OperatorConsole.streamHead + LiveFrame.opening
            + LiveFrame.history(samples: history.ordered, events: events.newest().reversed(), nodes: nodes)
        first.withUnsafeBytes { _ = connection.write($0) }
        streams[ObjectIdentifier(connection)] = (connection, session)
        if streams.count == 1 { startTicking() }
    }

    /// The connection closed (whatever it was): if it was a stream, it is one fewer.
    func forget(_ connection: Connection) {
        guard streams.removeValue(forKey: ObjectIdentifier(connection)) != nil, streams.isEmpty else { return }
        timer?.stop()
    }

    private func startTicking() {
        if timer == nil { timer = try? Timer(loop: server.loop) }
        lastReading = server.counterReading()
        sentSeq = events.lastSeq
        timer?.start(afterMilliseconds: 1000, repeatEvery: 1000) { [unowned self] in tick() }
    }

    /// Once a second while a console is open: one sample, encoded once, written to every stream.
    /// A console that has not taken what it was sent (over --max-queued-bytes) is dropped: it
    /// reconnects and starts from the history, and memory stays bounded. A stream whose session
    /// ended (signed out, or 12 hours passed) is closed: its page is asked to sign in again.
    private func tick() {
        let reading = server.counterReading()
        let sample = ConsoleSample(time: WallClock.milliseconds(), gauges: server.consoleGauges(),
                                   from: lastReading ?? reading, to: reading)
        lastReading = reading
        history.append(sample)
        let frame = LiveFrame.tick(sample: sample, events: events.after(sentSeq), nodes: nodeRows())
        sentSeq = events.lastSeq
        let shared = SharedBuffer(capacity: frame.count)
        frame.withUnsafeBytes { shared.append($0) }
        let now = Trust.now()
        for (connection, session) in Array(streams.values) {
            if sessions.expiry(of: session, now: now) == nil {
                connection.terminate()
            } else if connection.queuedBytes > server.config.maxQueuedBytes {
                server.logger.debug("dropping a console that is behind", metadata: ["peer": "\(connection.peerAddress ?? "-")"])
                connection.terminate()
            } else {
                connection.write(shared: shared)
            }
        }
    }

    private func nodeRows() -> [NodeRow]? {
        cluster?.nodeRows(now: WallClock.milliseconds() / 1000)
    }
}
