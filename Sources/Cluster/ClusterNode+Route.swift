import Redis

/// Routing to devices on other nodes: a loop iteration's messages go in one route script call.
extension ClusterNode {
    /// Hands a message for `device` (not held here) to the node that holds it; with `keep`, a
    /// device on no node gets it kept instead. `done` hears how it ended.
    /// `checkGrant`: token mode, the sender's own grant does not name the device, so the device's
    /// grant must name the sender.
    public func route(_ payload: UnsafeRawBufferPointer, to device: String, from senderDevice: String, keep: KeepRequest? = nil,
                      checkGrant: Bool = false, _ done: @escaping (RouteOutcome) -> Void) {
        route(payload, to: device, from: senderDevice, keep: keep, checkGrant: checkGrant, waiter: .closure(done))
    }

    /// As `route(_:to:from:keep:checkGrant:_:)` for a message from a connection here: only an
    /// outcome other than `queued` is told, to the delegate's `cluster(routed:...)` with `sender`
    /// and `idJSON`. No closure per message: this is the path every cross-node message takes.
    public func route(_ payload: UnsafeRawBufferPointer, to device: String, from senderDevice: String, keep: KeepRequest?,
                      checkGrant: Bool, sender: AnyObject, idJSON: [UInt8]?) {
        route(payload, to: device, from: senderDevice, keep: keep, checkGrant: checkGrant,
              waiter: .sender(sender, device: device, idJSON: idJSON))
    }

    /// At most this many messages per script call (Redis runs nothing else meanwhile).
    static let routeBatchLimit = 1000
    /// Payload bytes sent to Redis and not yet answered, past which sends are status 7.
    static let maxRouteBytesInFlight = 64 << 20

    private func route(_ payload: UnsafeRawBufferPointer, to device: String, from senderDevice: String, keep: KeepRequest?,
                       checkGrant: Bool, waiter: RouteBatch.Waiter) {
        // A Redis that stopped answering (its deadline has not passed yet) must not make this node
        // hold without bound what senders keep sending.
        guard isAvailable, routeBytesInFlight < ClusterNode.maxRouteBytesInFlight else {
            return tell(waiter, .unavailable)
        }
        routedOut += 1
        routeBytesInFlight += payload.count
        routeBatch.add(payload, to: device, from: senderDevice, keep: keep, checkGrant: checkGrant, waiter: waiter)
        if routeBatch.waiters.count == ClusterNode.routeBatchLimit { flushRoutes() }
    }

    func flushRoutes() {
        guard !routeBatch.waiters.isEmpty else { return }
        let batch = routeBatch
        routeBatch = RouteBatch(reserving: batch.messages.body.count)
        let head = RESPCommand([bytes(nodeID), bytes(String(options.inboxMaxEntries))] + keptLimitArguments)
        scripts.route.run(on: commands, keys: [], arguments: [head, batch.messages]) { [weak self] reply in
            guard let self else { return }
            routeBytesInFlight -= batch.payloadBytes
            // (message number, code) for each message not queued, in order.
            guard let refused = reply.elements else {
                for waiter in batch.waiters { tell(waiter, .unavailable) }
                return
            }
            var next = 0
            for (index, waiter) in batch.waiters.enumerated() {
                guard next + 1 < refused.count, refused[next].integer == Int64(index + 1) else {
                    tell(waiter, .queued)
                    continue
                }
                let outcome = ClusterNode.routeOutcome(refused[next + 1].integer)
                next += 2
                tell(waiter, outcome)
            }
        }
    }

    private func tell(_ waiter: RouteBatch.Waiter, _ outcome: RouteOutcome) {
        switch waiter {
        case .closure(let done): done(outcome)
        case .sender(let sender, let device, let idJSON):
            if outcome != .queued { delegate?.cluster(routed: outcome, to: device, sender: sender, idJSON: idJSON) }
        }
    }

    static func routeOutcome(_ code: Int64?) -> RouteOutcome {
        switch code {
        case 0: .offline
        case 2: .busy
        case let code? where code >= 3 && code <= 6: .kept(ClusterKeptStore.outcome(code))
        case 7: .forbidden
        default: .unavailable
        }
    }
}

/// The route script's arguments for the messages of one loop iteration, and who hears of each.
struct RouteBatch {
    enum Waiter {
        case closure((RouteOutcome) -> Void)
        /// A connection of the server's (the delegate answers it), the recipient and the message's raw `id`.
        case sender(AnyObject, device: String, idJSON: [UInt8]?)
    }

    /// Per message: device, options, `InboxRecord`.
    private(set) var messages = RESPCommand()
    private(set) var waiters: [Waiter] = []
    private(set) var payloadBytes = 0

    init(reserving bytes: Int = 0) {
        messages.reserveCapacity(bytes)
    }

    mutating func add(_ payload: UnsafeRawBufferPointer, to device: String, from sender: String, keep: KeepRequest?,
                      checkGrant: Bool, waiter: Waiter) {
        payloadBytes += payload.count
        messages.append(device)
        if checkGrant || keep != nil {
            var options: [UInt8] = checkGrant ? [UInt8(ascii: "g")] : []
            if let keep { options += Array("\(keep.seconds):".utf8) + (keep.idJSON ?? []) }
            messages.append(options)
        } else {
            messages.append(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        InboxRecord.append(device: device, sender: sender, payload: payload, to: &messages)
        waiters.append(waiter)
    }
}
