import Storage
import Switchboard
import UV
import WebSocket

/// Messages kept for offline devices (issue #18): keeping them (status 8 once the store made
/// them durable), handing them over when their recipient connects (after its own `online`,
/// before anything routed to it later), receipts, expiry, and taking back what a dying
/// connection never handed to its socket.
///
/// Everything of one tick is settled at its end, after presence: takes for the devices that
/// arrived, the store's commit (one transaction), then the tick's status 8 replies and receipts.
extension Server {
    /// Hooks the store's reports to the server (at start: they need the whole server).
    func startKeeping() {
        kept.onExpired = { [unowned self] recipient, message in
            keptActivity = true
            metrics.keptExpired += 1
            guard let idJSON = message.idJSON else { return }
            sendReceipt(KeptReply(.expired, recipient: recipient, idJSON: idJSON), to: message.sender)
        }
        if let local = kept as? LocalKeptStore {
            local.onCommitFailure = { [unowned self] error in
                logger.error("could not commit kept messages; this tick's are refused", metadata: ["error": "\(error)"])
            }
        }
        if !kept.survivesRestart {
            logger.warning("--offline-store memory: kept messages live in memory only; a restart loses them")
        }
        if config.maxOfflineTTLSeconds < 30 {
            logger.warning("--max-offline-ttl \(config.maxOfflineTTLSeconds) is below the 30 s the pairing pages ask for: their pair messages are refused")
        }
    }

    // MARK: Keeping

    /// The recipient of `envelope` is offline and the message is to be kept `seconds`: the
    /// sender, if still connected, hears status 8 once it is durable, or status 5 past a bound.
    func keep(_ payload: UnsafeRawBufferPointer, _ envelope: Envelope, seconds: Int, from sender: Connection?) {
        if let localKept { return keep(payload, envelope, seconds: seconds, from: sender, in: localKept) }
        let recipient = envelope.to
        let idJSON = envelope.idJSON
        keep(payload, envelope, seconds: seconds) { [unowned self] outcome in
            answerKeep(outcome, to: sender, recipient: recipient, idJSON: idJSON)
        }
    }

    /// The same with a local store: the message goes in from the sender's bytes, and its answer
    /// waits in `pendingKeeps` for the tick's commit (no message object or callback per keep).
    private func keep(_ payload: UnsafeRawBufferPointer, _ envelope: Envelope, seconds: Int, from sender: Connection?,
                      in store: LocalKeptStore) {
        let expiry = WallClock.milliseconds() + Int64(seconds) * 1000
        keptActivity = true
        var from = envelope.from
        var to = envelope.to
        from.withUTF8 { senderBytes in
            to.withUTF8 { recipientBytes in
                func keep(_ id: UnsafeRawBufferPointer?) {
                    let parts = KeptParts(payload: payload, sender: UnsafeRawBufferPointer(senderBytes), id: id, expiry: expiry,
                                          senderAt: envelope.fromAt, idAt: envelope.idAt)
                    if let refusal = store.keepNew(parts, for: envelope.to) {
                        return answerKeep(.refused(refusal), to: sender, recipient: envelope.to, idJSON: envelope.idJSON)
                    }
                    pendingKeeps.append(sender: sender, recipient: UnsafeRawBufferPointer(recipientBytes), id: id)
                }
                guard let idJSON = envelope.idJSON else { return keep(nil) }
                idJSON.withUnsafeBytes { keep($0) }
            }
        }
    }

    /// After the commit: this tick's keeps through the local store are answered, in order.
    private func answerPendingKeeps() {
        guard let localKept, !pendingKeeps.isEmpty else { return }
        guard localKept.lastCommitSucceeded else {
            return pendingKeeps.drain { sender, _, recipient, id in
                answerKeep(.refused(.storeFailed), to: sender, recipient: String(decoding: recipient, as: UTF8.self), idJSON: id.map(Array.init))
            }
        }
        metrics.keptTotal += UInt64(pendingKeeps.count)
        pendingKeeps.drain { sender, reply, _, _ in
            if let sender, sender.isOpen { sender.send(.text, reply) }
        }
    }

    /// Status 8 for a kept message, status 5 for a refused one (counted either way).
    func answerKeep(_ outcome: KeepOutcome, to sender: Connection?, recipient: String, idJSON: [UInt8]?) {
        let answer = countedAnswer(outcome, recipient: recipient, idJSON: idJSON)
        guard let sender, sender.isOpen else { return }
        switch answer {
        case .reply(let reply): sender.send(reply)
        case .failure(let reply): sender.send(reply)
        }
    }

    /// A message with a ttl that reached this node after its device left (it was routed here a
    /// moment before): kept as if it had found the device on no node, its sender on `senderNode`
    /// answered there. False when the message asks for no keeping.
    func keepArrivedLate(_ payload: UnsafeRawBufferPointer, senderNode: String) -> Bool {
        guard let cluster, case .success(let envelope) = Envelope.scan(payload),
              let seconds = switchboard.keep.seconds(for: envelope.ttl) else { return false }
        let recipient = envelope.to, sender = envelope.from, idJSON = envelope.idJSON
        keep(payload, envelope, seconds: seconds) { [unowned self] outcome in
            let reply = switch countedAnswer(outcome, recipient: recipient, idJSON: idJSON) {
            case .reply(let reply): reply.withBytes { Array($0) }
            case .failure(let reply): reply.bytes
            }
            cluster.answer(reply, to: sender, on: senderNode)
        }
        return true
    }

    private func keep(_ payload: UnsafeRawBufferPointer, _ envelope: Envelope, seconds: Int, answer: @escaping (KeepOutcome) -> Void) {
        let expiry = WallClock.milliseconds() + Int64(seconds) * 1000
        let message = KeptMessage.make(payload: payload, sender: envelope.from, idJSON: envelope.idJSON, expiry: expiry)
        keptActivity = true
        kept.keep(message, for: envelope.to, force: false, done: answer)
    }

    enum KeepAnswer {
        /// Status 8, or status 5 past a bound.
        case reply(KeptReply)
        /// The store could not keep it.
        case failure(Reply)
    }

    /// What the sender hears of a keep's `outcome` (counted here, whether or not anyone hears it).
    func countedAnswer(_ outcome: KeepOutcome, recipient: String, idJSON: [UInt8]?) -> KeepAnswer {
        switch outcome {
        case .kept:
            metrics.keptTotal += 1
            return .reply(KeptReply(.queued, recipient: recipient, idJSON: idJSON))
        case .refused(let why):
            metrics.keptRefused[why.rawValue, default: 0] += 1
            return why == .storeFailed ? .failure(Server.storeFailure(recipient: recipient, idJSON: idJSON))
                : .reply(KeptReply(.queueFull, recipient: recipient, idJSON: idJSON))
        }
    }

    static func storeFailure(recipient: String, idJSON: [UInt8]?) -> Reply {
        Reply(.recipientBusy, "could not keep the message (store failure); retry later",
              dataJSON: Reply.statusMap([(recipient, false)]), idJSON: idJSON)
    }

    /// A receipt for `sender`, wherever in the fleet it is connected (nothing if it is not).
    func sendReceipt(_ receipt: KeptReply, to sender: String) {
        if let connection = switchboard.peer(for: sender) { return connection.send(receipt) }
        guard let cluster else { return }
        receipt.withBytes { cluster.tell(Array($0), to: sender) }
    }

    /// A message already promised comes back (its delivery failed): kept again as it was, and
    /// taken at once if its recipient is connected by now.
    private func keepAgain(_ message: KeptMessage, for recipient: String) {
        keptActivity = true
        kept.keep(message, for: recipient, force: true) { _ in }
        takeAgain(for: recipient)
    }

    /// Something was kept for `id` after it connected: its current connection takes it (unless
    /// a take is already on its way).
    func takeAgain(for id: String) {
        guard let current = switchboard.peer(for: id), current.isOpen, !current.awaitingKept else { return }
        noteArrival(current, as: id)
    }

    // MARK: Handing over

    /// Device `id` registered on `connection`: what is kept for it goes out at the end of the
    /// tick (after its online); messages routed to it meanwhile wait behind.
    func noteArrival(_ connection: Connection, as id: String) {
        guard kept.mayHold(id) else { return }
        connection.awaitingKept = true
        keptArrivals.append(connection)
        keptActivity = true
    }

    /// A routed message's last step, whichever node it came from: counted, then written, or held
    /// behind the kept messages still on their way to the recipient.
    func handOver(_ payload: UnsafeRawBufferPointer, to recipient: Connection) {
        metrics.messagesRouted += 1
        if recipient.awaitingKept { return holdBehindKept(payload, for: recipient) }
        recipient.send(.text, payload)
    }

    /// A message routed to a connection whose kept messages are not out yet.
    func holdBehindKept(_ payload: UnsafeRawBufferPointer, for recipient: Connection) {
        heldBehindKept[ObjectIdentifier(recipient), default: []].append(Array(payload))
    }

    /// End of tick (after presence): takes for the devices that arrived, one commit, then the
    /// tick's replies and receipts, written at once.
    func settleKept() {
        guard keptActivity else { return }
        keptActivity = false
        let now = WallClock.milliseconds()
        let arrivals = keptArrivals
        keptArrivals.removeAll()
        for connection in arrivals {
            // Left, or replaced (its successor arrived on its own): what is kept stays kept.
            guard connection.isOpen, let id = connection.deviceID else { continue }
            kept.take(for: id, now: now) { [unowned self] messages in hand(messages, to: connection, as: id) }
        }
        kept.commit()
        answerPendingKeeps()
        for (sender, receipt) in pendingReceipts { sendReceipt(receipt, to: sender) }
        pendingReceipts.removeAll(keepingCapacity: true)
        loop.flushCorked()
        // What the kernel took is handed over; a connection still holding kept frames is watched
        // until it drains (or dies, and they are kept again).
        for connection in handedTo where connection.queuedBytes == 0 { keptDrained(connection) }
        handedTo.removeAll(keepingCapacity: true)
    }

    /// The store's answer to a take: the messages go out in order, then what waited behind them.
    private func hand(_ messages: [KeptMessage], to connection: Connection, as id: String) {
        keptActivity = true   // receipts and the commit follow at the end of this tick
        guard connection.isOpen, let current = connection.deviceID, sameBytes(current, id) else {
            for message in messages { keepAgain(message, for: id) }
            return
        }
        for message in messages {
            message.withPayload { connection.send(.text, $0) }
            if let idJSON = message.idJSON { pendingReceipts.append((message.sender, KeptReply(.delivered, recipient: id, idJSON: idJSON))) }
        }
        metrics.keptDelivered += UInt64(messages.count)
        if !messages.isEmpty {
            keptInFlight[ObjectIdentifier(connection), default: []] += messages
            connection.holdsKept = true
            handedTo.append(connection)
        }
        connection.awaitingKept = false
        for payload in heldBehindKept.removeValue(forKey: ObjectIdentifier(connection)) ?? [] {
            payload.withUnsafeBytes { connection.send(.text, $0) }
        }
    }

    /// Every byte of the kept messages handed to `connection` reached its socket.
    func keptDrained(_ connection: Connection) {
        keptInFlight[ObjectIdentifier(connection)] = nil
        connection.holdsKept = false
    }

    // MARK: Not delivered

    /// A routed message `connection` never handed to its socket (it is closing): a kept message
    /// is kept again, silently (its sender was promised); one with a ttl is kept as if its
    /// recipient had been offline (status 8); anything else is answered status 1, as before.
    func notDelivered(_ payload: UnsafeRawBufferPointer, by connection: Connection) {
        guard case .success(let envelope) = Envelope.scan(payload), envelope.to != "all" else { return }
        if connection.holdsKept, let message = takeInFlight(payload, of: connection) {
            return keepAgain(message, for: envelope.to)
        }
        let sender = switchboard.peer(for: envelope.from)
        let current = switchboard.peer(for: envelope.to)
        let online = current != nil && current !== connection
        if !online, envelope.from != "server", let seconds = switchboard.keep.seconds(for: envelope.ttl) {
            return keep(payload, envelope, seconds: seconds, from: sender === connection ? nil : sender)
        }
        guard let sender, sender !== connection else { return }
        metrics.undelivered += 1
        sender.send(Reply.undelivered(to: envelope.to, online: online, idJSON: envelope.idJSON))
    }

    /// The kept message handed to `connection` whose bytes are `payload`, no longer in flight.
    private func takeInFlight(_ payload: UnsafeRawBufferPointer, of connection: Connection) -> KeptMessage? {
        let key = ObjectIdentifier(connection)
        guard let index = keptInFlight[key]?.firstIndex(where: { $0.hasPayload(payload) }) else { return nil }
        return keptInFlight[key]!.remove(at: index)
    }

    /// `connection` closed: messages still waiting behind its kept ones were never written.
    func keptConnectionClosed(_ connection: Connection) {
        let key = ObjectIdentifier(connection)
        keptInFlight[key] = nil
        for payload in heldBehindKept.removeValue(forKey: key) ?? [] {
            payload.withUnsafeBytes { notDelivered($0, by: connection) }
        }
    }

    /// At exit: whatever open connections still hold unsent (a drain that timed out) is kept
    /// again or answered.
    func keepUnsentAtExit() {
        loop.forEachHandle { handle in
            guard let connection = handle as? Connection, connection.upgraded else { return }
            connection.forEachUnsent { connection.reportUndelivered($0, taken: $1) }
            keptConnectionClosed(connection)
        }
    }

    /// At exit, last: the store commits and closes.
    func closeKept() {
        kept.close()
        answerPendingKeeps()
    }

    /// One expiry pass (the sweep's), by the wall clock.
    func expireKept() {
        kept.expire(now: WallClock.milliseconds())
    }
}

extension Connection {
    /// A reply about a kept message: status 8 and receipts are no errors; a refusal counts as one.
    func send(_ reply: KeptReply) {
        if reply.kind == .queueFull { server.metrics.routingErrors[reply.status.rawValue, default: 0] += 1 }
        reply.withBytes { send(.text, $0) }
    }
}
