import Foundation

/// One device's link to a Tether server, with async/await: connects at once, reconnects with
/// backoff, keeps the presence of watched ids, and tells whether a send was refused.
///
/// The socket runs on a thread of its own (a libuv loop, over the `UV` and `WebSocket` modules:
/// URLSessionWebSocketTask on Linux needs a libcurl built with WebSocket support, which Debian's
/// is not). `close()` ends it; the streams finish then.
public final class TetherClient: Sendable {
    public struct Options: Sendable {
        /// Reconnect delays (full jitter; 0.5 s doubling to 15 s by default).
        public var backoff = Backoff()
        /// A send with no error reply within this window succeeds.
        public var replyWindow: Duration = .seconds(1)
        /// Sends held while disconnected; one more throws `.queueFull`.
        public var queueLimit = 100
        /// Silent half of this: a probe; silent 1.5 times this: the link is given up.
        public var probeInterval: Duration = .seconds(25)
        /// A handshake not answered in this long is given up (and retried).
        public var connectTimeout: Duration = .seconds(10)
        /// A link open this long starts the next reconnect at attempt 0 again.
        public var stableAfter: Duration = .seconds(10)
        /// A server command unanswered this long throws `.timeout`.
        static let commandTimeout: Duration = .seconds(10)

        public init() {}
    }

    public let deviceID: String
    /// Messages routed to this device, and the server's own (`from == "server"`).
    public let messages: AsyncStream<TetherMessage>
    /// Every state learned of a watched id (answers to queries after each connect, and presence frames).
    public let presence: AsyncStream<PresenceChange>
    /// The link's phases, stops and unclaimed replies.
    public let events: AsyncStream<LinkEvent>

    private let thread: LoopThread
    private let box: LinkBox

    /// Starts connecting to `url` (ws: or http:, with an optional path prefix) as `deviceID`.
    /// Throws `.invalid` for a bad id or URL.
    public init(url: URL, deviceID: String, token: String? = nil, watch: [String] = [], options: Options = Options()) throws {
        guard DeviceID.isValid(deviceID) else { throw TetherError(.invalid, "\(deviceID) is not a valid device id") }
        let address = try ServerAddress(url)
        self.deviceID = deviceID
        let (messages, messageSink) = AsyncStream.makeStream(of: TetherMessage.self)
        let (presence, presenceSink) = AsyncStream.makeStream(of: PresenceChange.self)
        let (events, eventSink) = AsyncStream.makeStream(of: LinkEvent.self)
        (self.messages, self.presence, self.events) = (messages, presence, events)
        let output = Output(messages: messageSink, presence: presenceSink, events: eventSink)
        let box = LinkBox()
        self.box = box
        thread = LoopThread(name: "tether-client \(deviceID)") { loop in
            box.link = Link(loop: loop, address: address, deviceID: deviceID, token: token, watch: watch, options: options, output: output)
            box.link?.open()
        }
    }

    deinit { close() }

    /// Sends `msg` to device `to`; returns the `id` it went out with once no error reply came
    /// within the reply window, or once the server kept it for an offline `to` (status 8: with a
    /// `ttl` in seconds, the server keeps it that long). While disconnected it waits in the queue
    /// (unless `queue` is false) and goes out, in order, after the next connect. Throws `TetherError`.
    @discardableResult
    public func send(to: String, msg: JSONValue, queue: Bool = true, ttl: Int? = nil) async throws -> Int {
        try await call { link, done in link.send(to: to, msg: msg, queue: queue, ttl: ttl, done: done) }.intValue ?? 0
    }

    /// A server command (`queryStatus`, `pairingCode`, `unpair`, ...): the status 0 reply.
    public func command(_ msg: String, data: JSONValue? = nil) async throws -> JSONValue {
        try await call { link, done in link.command(msg, data: data, done: done) }
    }

    /// Token mode: hands the server a fresh token for this id; returns its `expires` (nil when
    /// not connected: the token is then used at the next connect).
    @discardableResult
    public func refresh(token: String) async throws -> Int? {
        try await call { link, done in link.refresh(token: token, done: done) }["data"]?["expires"]?.intValue
    }

    /// Adds ids to the presence map and, when connected, asks about them.
    public func watch(_ ids: [String]) {
        thread.perform { [box] _ in box.link?.watch(ids) }
    }

    public func unwatch(_ ids: [String]) {
        thread.perform { [box] _ in box.link?.unwatch(ids) }
    }

    /// The presence map now: watched id to state.
    public func presenceMap() async -> [String: DeviceState] {
        await onLoop { $0.presence } ?? [:]
    }

    public func isConnected() async -> Bool {
        await onLoop { $0.isConnected } ?? false
    }

    /// Leaves with a normal close; waiting sends throw `.closed` and the streams finish. Final.
    public func close() {
        thread.shutdown { [box] _ in
            box.link?.close()
        }
    }

    private func call(_ body: @escaping @Sendable (Link, @escaping Link.Completion) -> Void) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { continuation in
            let done: Link.Completion = { continuation.resume(with: $0.mapError { $0 as any Error }) }
            let accepted = thread.perform { [box] _ in
                guard let link = box.link else { return done(.failure(TetherError(.closed, "the client was closed"))) }
                body(link, done)
            }
            if !accepted { done(.failure(TetherError(.closed, "the client was closed"))) }
        }
    }

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable (Link) -> T) async -> T? {
        await withCheckedContinuation { continuation in
            let accepted = thread.perform { [box] _ in continuation.resume(returning: box.link.map(body)) }
            if !accepted { continuation.resume(returning: nil) }
        }
    }
}

/// Holds the link, which only the loop thread creates and touches.
private final class LinkBox: @unchecked Sendable {
    var link: Link?
}
