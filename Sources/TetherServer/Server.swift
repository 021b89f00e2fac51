import Glibc
import Logging
import UV

/// Owns the loop, the listener and every connection; runs until SIGINT/SIGTERM.
public final class Server {
    public let config: ServerConfig
    public let loop: Loop
    let logger: Logger
    private var listener: TCPListener?
    private var signals: [Signal] = []
    private var sweepTimer: Timer?
    var connections: [ObjectIdentifier: Connection] = [:]
    /// Connections waiting for the peer to finish a close, with their deadline in loop time.
    var closing: [ObjectIdentifier: UInt64] = [:]

    public init(config: ServerConfig, logger: Logger = Logger(label: "tether")) throws {
        self.config = config
        self.logger = logger
        loop = try Loop()
    }

    /// Binds and starts accepting; returns the bound address.
    @discardableResult
    public func start() throws -> SocketAddress {
        let listener = try TCPListener(loop: loop, host: config.host, port: config.port, backlog: config.backlog)
        listener.onConnection = { [unowned self] in accept($0) }
        listener.onAcceptError = { [logger] error in
            logger.warning("accept failed, still serving open connections", metadata: ["error": "\(error)"])
        }
        self.listener = listener
        for number in [SIGINT, SIGTERM] {
            signals.append(try Signal(loop: loop, signal: number) { [unowned self] in stop() })
        }
        let sweep = try Timer(loop: loop)
        sweep.start(afterMilliseconds: 250, repeatEvery: 250) { [unowned self] in sweepClosing() }
        sweepTimer = sweep
        return listener.localAddress!
    }

    /// Runs the loop until stopped, then closes every handle.
    public func run() throws {
        loop.run()
        connections.removeAll()
        try loop.close()
    }

    public func stop() {
        logger.info("stopping")
        listener?.close()
        loop.stop()
    }

    private func accept(_ tcp: TCPConnection) {
        let connection = Connection(tcp: tcp, server: self)
        connections[ObjectIdentifier(connection)] = connection
        tcp.delegate = connection
        try? tcp.setNoDelay(true)
        do {
            try tcp.startReading()
        } catch {
            tcp.close()
        }
    }

    func connectionDidClose(_ connection: Connection) {
        connections[ObjectIdentifier(connection)] = nil
        closing[ObjectIdentifier(connection)] = nil
    }

    func beginClosing(_ connection: Connection) {
        closing[ObjectIdentifier(connection)] = loop.now + config.closeTimeoutMilliseconds
    }

    /// Cuts connections whose peer did not finish the close in time.
    private func sweepClosing() {
        let now = loop.now
        for (id, deadline) in closing where deadline <= now {
            closing[id] = nil
            connections[id]?.tcp.close()
        }
    }
}
