import UV

/// A second link in pub/sub mode: SUBSCRIBE / PSUBSCRIBE, messages to `onMessage`, and after
/// every reconnect each channel and pattern subscribed again (Redis forgets them with the link).
///
/// Messages published while the link was down are lost: pub/sub is for what a re-read can
/// repair (presence); `onSubscribed` says when to re-read.
public final class RedisSubscriber {
    /// A message on a subscribed channel (or one matching a subscribed pattern).
    public var onMessage: ((RedisMessage) -> Void)?
    /// After each (re)connect, once Redis confirmed every channel and pattern.
    public var onSubscribed: (() -> Void)?
    public var onStateChange: ((RedisLinkState) -> Void)? {
        get { link.onStateChange }
        set { link.onStateChange = newValue }
    }

    public private(set) var channels: Set<[UInt8]> = []
    public private(set) var patterns: Set<[UInt8]> = []
    public var isConnected: Bool { link.isConnected }

    private let link: RedisConnection
    /// Channels per (P)SUBSCRIBE command, so a resubscribe of many is a few commands, not one huge one.
    private static let chunk = 1000

    /// Channels belong to no database, so `url.database` is not used.
    public init(loop: Loop, url: RedisURL, options: RedisOptions = .subscriber) throws(UVError) {
        link = try RedisConnection(loop: loop, url: RedisURL(host: url.host, port: url.port), options: options)
        link.claimUnsolicited = { [weak self] reply in self?.claim(reply) ?? false }
        link.onConnect = { [weak self] _ in self?.resubscribe() }
    }

    public func start() { link.start() }

    /// Stops for good (no more messages or callbacks).
    public func close() {
        onMessage = nil
        onSubscribed = nil
        link.close()
    }

    public func subscribe(_ names: [[UInt8]]) {
        send(Verb.subscribe, names.filter { channels.insert($0).inserted })
    }

    public func unsubscribe(_ names: [[UInt8]]) {
        send(Verb.unsubscribe, names.filter { channels.remove($0) != nil })
    }

    public func psubscribe(_ names: [[UInt8]]) {
        send(Verb.psubscribe, names.filter { patterns.insert($0).inserted })
    }

    public func punsubscribe(_ names: [[UInt8]]) {
        send(Verb.punsubscribe, names.filter { patterns.remove($0) != nil })
    }

    /// Sends now if the link is up; otherwise the next connect's resubscribe covers it.
    private func send(_ verb: [UInt8], _ names: [[UInt8]], done: ((RedisReply) -> Void)? = nil) {
        guard link.isConnected, !names.isEmpty else { return }
        var start = 0
        while start < names.count {
            let end = min(start + RedisSubscriber.chunk, names.count)
            // One confirmation comes per name.
            link.send([verb] + names[start..<end], replyCount: end - start, reply: end == names.count ? (done ?? { _ in }) : { _ in })
            start = end
        }
    }

    private func resubscribe() {
        let all = (Array(channels), Array(patterns))
        guard !all.0.isEmpty || !all.1.isEmpty else { return onSubscribed?() ?? () }
        // Replies come in order: the last confirmation of the last command means all are in.
        let finished: (RedisReply) -> Void = { [weak self] reply in
            if case .failure = reply { return }
            self?.onSubscribed?()
        }
        send(Verb.subscribe, all.0, done: all.1.isEmpty ? finished : nil)
        send(Verb.psubscribe, all.1, done: all.1.isEmpty ? nil : finished)
    }

    /// Takes pub/sub deliveries off the reply stream; confirmations and PONGs answer commands.
    private func claim(_ reply: RedisReply) -> Bool {
        guard let items = reply.elements, let kind = items.first?.bytes else { return false }
        if kind == Verb.message {
            guard items.count == 3, let channel = items[1].bytes, let payload = items[2].bytes else { return true }
            if channels.contains(channel) { onMessage?(RedisMessage(channel: channel, payload: payload)) }
            return true
        }
        if kind == Verb.pmessage {
            guard items.count == 4, let pattern = items[1].bytes, let channel = items[2].bytes,
                  let payload = items[3].bytes else { return true }
            if patterns.contains(pattern) { onMessage?(RedisMessage(channel: channel, payload: payload, pattern: pattern)) }
            return true
        }
        return false
    }

    private enum Verb {
        static let subscribe = Array("SUBSCRIBE".utf8)
        static let unsubscribe = Array("UNSUBSCRIBE".utf8)
        static let psubscribe = Array("PSUBSCRIBE".utf8)
        static let punsubscribe = Array("PUNSUBSCRIBE".utf8)
        static let message = Array("message".utf8)
        static let pmessage = Array("pmessage".utf8)
    }
}

/// One pub/sub delivery.
public struct RedisMessage: Equatable, Sendable {
    public var channel: [UInt8]
    public var payload: [UInt8]
    /// The subscribed pattern that matched, for PSUBSCRIBE deliveries; nil for SUBSCRIBE ones.
    public var pattern: [UInt8]?

    public init(channel: [UInt8], payload: [UInt8], pattern: [UInt8]? = nil) {
        self.channel = channel
        self.payload = payload
        self.pattern = pattern
    }
}
