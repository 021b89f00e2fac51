import Redis

/// Routing to devices on other nodes. A loop iteration's messages go together: a small batch in
/// one route script call (holders looked up and messages appended in one step), a big one in two
/// steps, the locate script then a plain XADD per holder, so that its bytes never pass through
/// Lua. While a batch's holders are being located the next batch waits and grows, so messages
/// reach each inbox in the order they were sent.
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
              waiter: .sender(sender, idJSON: idJSON))
    }

    /// At most this many messages per route script call (Redis runs nothing else meanwhile).
    static let routeBatchLimit = 1000
    /// From this many messages a batch is located first. A small batch saves little Lua work and
    /// would pay a second round trip, a write and a read more on this node (at 2 to 4 messages a
    /// batch the two ways cost about the same in all, the one step waiting less).
    static let locateFrom = 32
    /// Payload bytes sent to Redis and not yet answered, past which sends are status 7.
    static let maxRouteBytesInFlight = 64 << 20

    private func route(_ payload: UnsafeRawBufferPointer, to device: String, from senderDevice: String, keep: KeepRequest?,
                       checkGrant: Bool, waiter: RouteBatch.Waiter) {
        // A Redis that stopped answering (its deadline has not passed yet) must not make this node
        // hold without bound what senders keep sending.
        guard isAvailable, routeBytesInFlight < ClusterNode.maxRouteBytesInFlight else {
            return tell(waiter, .unavailable, device)
        }
        routedOut += 1
        routeBytesInFlight += payload.count
        routeBatch.add(payload, to: device, from: senderDevice, keep: keep, checkGrant: checkGrant, waiter: waiter)
        if routeBatch.messages.count == ClusterNode.routeBatchLimit { flushRoutes() }
    }

    func flushRoutes() {
        guard !routeBatch.isEmpty, !locating else { return }
        let batch = routeBatch
        routeBatch = RouteBatch(reserving: batch.records.count)
        if batch.messages.count >= ClusterNode.locateFrom {
            locate(batch)
        } else {
            runRouteScript(batch)
        }
    }

    // MARK: One step

    /// `reserved`: the payload bytes to give back to `routeBytesInFlight` when answered.
    private func runRouteScript(_ batch: RouteBatch, reserved: Int? = nil) {
        let head = RESPCommand([bytes(nodeID), bytes(String(options.inboxMaxEntries))] + keptLimitArguments)
        scripts.route.run(on: commands, keys: [], arguments: [head, batch.scriptArguments()]) { [weak self] reply in
            guard let self else { return }
            routeBytesInFlight -= reserved ?? batch.payloadBytes
            // (message number, code) for each message not queued, in order.
            guard let refused = reply.elements else { return tell(batch, .unavailable) }
            var next = 0
            for index in batch.messages.indices {
                guard next + 1 < refused.count, refused[next].integer == Int64(index + 1) else {
                    tell(batch, index, .queued)
                    continue
                }
                let outcome = ClusterNode.routeOutcome(refused[next + 1].integer)
                next += 2
                tell(batch, index, outcome)
            }
        }
    }

    // MARK: Two steps

    private func locate(_ batch: RouteBatch) {
        locating = true
        let (arguments, deviceOf, grantOf) = batch.locateArguments()
        let head = RESPCommand([bytes(String(options.inboxMaxEntries))])
        scripts.locate.run(on: commands, keys: [], arguments: [head, arguments]) { [weak self] reply in
            guard let self else { return }
            locating = false
            routeBytesInFlight -= batch.payloadBytes
            if let parts = reply.elements, parts.count == 2, let holders = parts[0].elements, let listed = parts[1].elements {
                append(batch, holders: holders, deviceOf: deviceOf, listed: listed, grantOf: grantOf)
            } else {
                tell(batch, .unavailable)
            }
            // The batch that waited goes out in the same write as these appends.
            flushRoutes()
        }
    }

    /// The second step: each holder's records in one XADD, in order; messages to keep whose
    /// device was on no node go through the route script, which decides again atomically.
    private func append(_ batch: RouteBatch, holders: [RedisReply], deviceOf: [Int], listed: [RedisReply], grantOf: [Int?]) {
        // Per device: its holder's index in `owners`, or -1 and why it has none.
        var owners: [String] = []
        var ownerSlot = [Int](repeating: -1, count: holders.count)
        var codes = [Int64?](repeating: nil, count: holders.count)
        var slots: [String: Int] = [:]
        for (device, holder) in holders.enumerated() {
            guard let owner = holder.string else {
                codes[device] = holder.integer
                continue
            }
            if let slot = slots[owner] {
                ownerSlot[device] = slot
            } else {
                slots[owner] = owners.count
                ownerSlot[device] = owners.count
                owners.append(owner)
            }
        }
        // Token mode: whether the recipient's grant lists the sender, for a message that asked.
        func granted(_ index: Int) -> Bool {
            grantOf[index].map { $0 < listed.count && listed[$0].integer == 1 } ?? true
        }
        // The usual case first: every message queued to one node, its records already in order.
        let sole = owners.count == 1 && batch.messages.indices.allSatisfy { index in
            granted(index) && deviceOf[index] < holders.count && ownerSlot[deviceOf[index]] == 0
        }
        if sole { return xadd(batch.records, to: owners[0], batch: batch, messages: nil) }
        var messagesOf = [[Int]](repeating: [], count: owners.count)
        var toKeep = RouteBatch()
        batch.records.withUnsafeBytes { raw in
            for index in batch.messages.indices {
                let device = deviceOf[index]
                if !granted(index) {
                    tell(batch, index, .forbidden)
                } else if device < holders.count, ownerSlot[device] >= 0 {
                    messagesOf[ownerSlot[device]].append(index)
                } else if device < holders.count, codes[device] == 0, !batch.messages[index].keep.isEmpty {
                    toKeep.add(record: UnsafeRawBufferPointer(rebasing: raw[batch.record(index)]), of: batch.messages[index])
                } else {
                    tell(batch, index, ClusterNode.routeOutcome(device < holders.count ? codes[device] : nil))
                }
            }
        }
        if !toKeep.isEmpty { runRouteScript(toKeep, reserved: 0) }
        batch.records.withUnsafeBytes { raw in
            for (slot, owner) in owners.enumerated() {
                var records: [UInt8] = []
                for index in messagesOf[slot] { records.append(contentsOf: raw[batch.record(index)]) }
                xadd(records, to: owner, batch: batch, messages: messagesOf[slot])
            }
        }
    }

    /// Appends `records` to `owner`'s inbox as one entry; `messages` (nil: all) of `batch` hear
    /// `queued` once Redis has them.
    private func xadd(_ records: [UInt8], to owner: String, batch: RouteBatch, messages: [Int]?) {
        var command = RESPCommand([InboxWords.xadd, bytes("tether:inbox:\(owner)"), InboxWords.star, InboxWords.t, InboxWords.b,
                                   InboxWords.n, bytes(nodeID), InboxWords.m])
        command.append(records)
        commands.send([command]) { [weak self] reply in
            guard let self else { return }
            let outcome: RouteOutcome = reply.isError ? .unavailable : .queued
            if let messages {
                for index in messages { tell(batch, index, outcome) }
            } else {
                tell(batch, outcome)
            }
        }
    }

    private enum InboxWords {
        static let xadd = bytes("XADD")
        static let star = bytes("*")
        static let t = bytes("t")
        static let b = bytes("b")
        static let n = bytes("n")
        static let m = bytes("m")
    }

    // MARK: Outcomes

    private func tell(_ waiter: RouteBatch.Waiter, _ outcome: RouteOutcome, _ device: String) {
        switch waiter {
        case .closure(let done): done(outcome)
        case .sender(let sender, let idJSON):
            if outcome != .queued { delegate?.cluster(routed: outcome, to: device, sender: sender, idJSON: idJSON) }
        }
    }

    private func tell(_ batch: RouteBatch, _ index: Int, _ outcome: RouteOutcome) {
        tell(batch.messages[index].waiter, outcome, batch.messages[index].device)
    }

    /// Every message of `batch` ended alike.
    private func tell(_ batch: RouteBatch, _ outcome: RouteOutcome) {
        for index in batch.messages.indices { tell(batch, index, outcome) }
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
