import Glibc
import Redis
import UV

/// This process as one node of a fleet that shares a device registry in Redis.
///
/// Two links, both on the server's loop: commands (claims, releases, routes, lease, reaping) and
/// the inbox reader, whose XREAD BLOCK would hold up commands. Everything another node sends
/// here, messages and presence alike, arrives in this node's one inbox stream, so a device's
/// `online` cannot be overtaken by its own messages, and nothing is lost while a link is down
/// (the reader resumes after the last entry it handled).
public final class ClusterNode {
    public let nodeID: String
    public let options: ClusterOptions
    public weak var delegate: ClusterDelegate?

    /// Claims and routes can be asked (the command link is up).
    public var isAvailable: Bool { commands.isConnected }
    /// Nodes in the registry at the last sweep, this one included.
    public private(set) var nodesSeen = 0
    /// Messages this node queued for other nodes, and read from its own inbox.
    public internal(set) var routedOut: UInt64 = 0
    public private(set) var routedIn: UInt64 = 0
    /// Dead nodes whose devices this node announced offline.
    public private(set) var nodesReaped: UInt64 = 0

    private let loop: Loop
    let commands: RedisConnection
    /// Devices the registry said have kept messages (at their claim, or kept since): a connect
    /// of any other device costs no take.
    var keptHints: Set<String> = []
    private let inbox: RedisConnection
    let scripts = ClusterScripts()
    let keptScripts = KeptScripts()
    let trustScripts = TrustScripts()
    private let inboxKey: [UInt8]
    private var lastEntryID: [UInt8] = Array("0-0".utf8)
    private var reading = false
    /// Entries handled and their bytes, not trimmed from the stream yet.
    private var untrimmedEntries = 0
    private var untrimmedBytes = 0
    private let leaseTimer: Timer
    private let settleTimer: Timer
    private var restoreIdle: Idle?
    /// Releases asked while Redis was away, sent first when it is back.
    private var pendingReleases: [String: UInt64] = [:]
    private var restoreQueue: [Restore] = []
    private var restoreIndex = 0
    /// Loop time from which dead nodes may be reaped (later after a reconnect).
    private var judgeAfter: UInt64 = 0
    private var everConnected = false
    /// This loop iteration's routed messages, not sent yet.
    var routeBatch = RouteBatch()
    /// Payload bytes sent to Redis in route calls not answered yet.
    var routeBytesInFlight = 0
    /// A big batch's holders are being looked up: the next batch waits (its order after it).
    var locating = false
    private var watchBatch: [String] = []
    private var unwatchBatch: [String] = []
    private var batchHook: TickHook?

    private enum Restore {
        case release(String, UInt64)
        case claim(String, UInt64)
        case grant(String, UInt64)
        case watch([String], WatchCheck)
    }

    public init(loop: Loop, options: ClusterOptions, nodeID: String = ClusterNode.randomID()) throws(UVError) {
        self.loop = loop
        self.options = options
        self.nodeID = nodeID
        inboxKey = Array("tether:inbox:\(nodeID)".utf8)
        // Backoff capped at 2 s: after a Redis restart the fleet is back (and settled) sooner.
        let linkOptions = RedisOptions(backoff: RedisBackoff(cap: .seconds(2)))
        commands = try RedisConnection(loop: loop, url: options.url, options: linkOptions)
        inbox = try RedisConnection(loop: loop, url: options.url, options: linkOptions)
        leaseTimer = try Timer(loop: loop)
        settleTimer = try Timer(loop: loop)
    }

    /// 16 hex digits, random per process: a restarted process is a new node.
    public static func randomID() -> String {
        let digits = String(UInt64.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public func start() {
        commands.onConnect = { [unowned self] _ in linkCameUp() }
        commands.onStateChange = { [unowned self] state in
            if case .disconnected = state { delegate?.cluster(available: false) }
        }
        inbox.onConnect = { [unowned self] _ in
            reading = false
            readInbox()
        }
        commands.start()
        inbox.start()
        let period = max(options.leaseMilliseconds / 5, 50)
        leaseTimer.start(afterMilliseconds: period, repeatEvery: period) { [unowned self] in renewAndSweep() }
        batchHook = try? TickHook(loop: loop) { [unowned self] in flushBatches() }
    }

    deinit { stop() }

    /// At exit, before `stop`: runs the loop until Redis has answered what it was asked (messages
    /// kept again, receipts) or `milliseconds` passed.
    public func finishPending(within milliseconds: UInt64) {
        flushBatches()
        guard isAvailable, commands.waitingReplies > 0, let deadline = try? Timer(loop: loop) else { return }
        var expired = false
        deadline.start(afterMilliseconds: milliseconds) { expired = true }
        while isAvailable && commands.waitingReplies > 0 && !expired { loop.runOnce(wait: true) }
        deadline.close()
    }

    /// Leaves the loop: links and timers close (the claims stay until the lease runs out).
    public func stop() {
        leaseTimer.close()
        settleTimer.close()
        restoreIdle?.close()
        restoreIdle = nil
        batchHook?.close()
        batchHook = nil
        // Closing reports the links down: nobody is to hear it (this may run in deinit).
        commands.onStateChange = nil
        commands.onConnect = nil
        inbox.onConnect = nil
        commands.close()
        inbox.close()
    }

    // MARK: The registry

    /// Makes this node (connection `serial`) the holder of `device`.
    public func claim(_ device: String, serial: UInt64, _ done: @escaping (ClaimOutcome) -> Void) {
        guard isAvailable else { return done(.unavailable) }
        pendingReleases[device] = nil
        scripts.claim.run(on: commands, keys: [], arguments: claimArguments(device, serial, restore: false)) { [weak self] reply in
            guard let parts = reply.elements, parts.count == 2, let holder = parts[0].bytes else { return done(.unavailable) }
            if parts[1].integer == 1 { self?.keptHints.insert(device) }
            done(holder.isEmpty ? .cameOnline : .wasOnline)
        }
    }

    /// Connection `serial` of `device` ended here.
    public func release(_ device: String, serial: UInt64, _ done: @escaping (ReleaseOutcome) -> Void) {
        guard isAvailable else {
            pendingReleases[device] = serial
            return done(.unavailable)
        }
        scripts.release.run(on: commands, keys: [], arguments: [bytes(nodeID), bytes(String(serial)), bytes(device), bytes(options.presence)]) { [weak self] reply in
            switch reply.integer {
            case 1: done(.wentOffline)
            case 0: done(.notHeld)
            default:
                self?.pendingReleases[device] = serial
                done(.unavailable)
            }
        }
    }

    /// Whether each of `devices` is on some node; nil when Redis could not be asked.
    public func lookup(_ devices: [String], _ done: @escaping ([Bool]?) -> Void) {
        guard isAvailable else { return done(nil) }
        scripts.lookup.run(on: commands, keys: [], arguments: devices.map(bytes)) { reply in
            guard let list = reply.elements, list.count == devices.count else { return done(nil) }
            done(list.map { $0.integer == 1 })
        }
    }

    /// Sends a status reply to `device` on `node` (about a message it sent here).
    public func answer(_ reply: [UInt8], to device: String, on node: String) {
        guard isAvailable else { return }
        commands.send([bytes("XADD"), bytes("tether:inbox:\(node)"), bytes("*"), bytes("t"), bytes("a"), bytes("d"), bytes(device), bytes("b"), reply]) { _ in }
    }

    /// Gives `reply` to `device` wherever it is connected (a receipt for a sender on another
    /// node); nothing when it is on no node.
    public func tell(_ reply: [UInt8], to device: String) {
        guard isAvailable else { return }
        keptScripts.tell.run(on: commands, keys: [], arguments: [bytes(device), reply]) { _ in }
    }

    /// This node hears `device`'s events from now on (watchers mode); batched per loop iteration.
    public func watch(_ device: String) {
        if let index = unwatchBatch.firstIndex(of: device) { unwatchBatch.remove(at: index) }
        watchBatch.append(device)
    }

    /// This node no longer hears `device`'s events.
    public func unwatch(_ device: String) {
        if let index = watchBatch.firstIndex(of: device) { watchBatch.remove(at: index) }
        unwatchBatch.append(device)
    }

    private func flushBatches() {
        flushRoutes()
        flushWatchBatches()
    }

    private func flushWatchBatches() {
        guard !watchBatch.isEmpty || !unwatchBatch.isEmpty else { return }
        let watching = watchBatch
        let leaving = unwatchBatch
        watchBatch.removeAll()
        unwatchBatch.removeAll()
        // While Redis is away they are dropped: a reconnect registers every watched device anew.
        guard isAvailable else { return }
        if !leaving.isEmpty {
            scripts.unwatch.run(on: commands, keys: [], arguments: [bytes(nodeID)] + leaving.map(bytes)) { _ in }
        }
        if !watching.isEmpty { registerWatches(watching, when: .firstWatch) }
    }

    private func registerWatches(_ devices: [String], when: WatchCheck) {
        scripts.watch.run(on: commands, keys: [], arguments: [bytes(nodeID)] + devices.map(bytes)) { [weak self] reply in
            guard let self, let list = reply.elements, list.count == devices.count else { return }
            for (device, online) in zip(devices, list) {
                delegate?.cluster(checked: device, online: online.integer == 1, when: when)
            }
        }
    }

    // MARK: Lease, reaping, restoring

    private func linkCameUp() {
        if everConnected { judgeAfter = loop.now + options.leaseMilliseconds + longestReconnect }
        let reconnected = everConnected
        renewLease { [weak self] wasMissing in
            // Missing from the registry: Redis lost its data, or this node was reaped meanwhile.
            // A first link writes what was admitted before Redis could be reached (a node that
            // started while Redis was away), and the registry it finds is the truth.
            self?.restoreAll(registryLost: reconnected && wasMissing)
        }
        loadRevocations()
        everConnected = true
        delegate?.cluster(available: true)
    }

    /// After Redis was away (or lost its data, or reaped this node): what this node holds and
    /// watches is written again, in batches, releases first.
    private func restoreAll(registryLost: Bool) {
        guard let delegate else { return }
        restoreQueue = pendingReleases.map { Restore.release($0.key, $0.value) }
        pendingReleases.removeAll()
        let held = delegate.clusterLocalDevices()
        restoreQueue += held.map { Restore.claim($0.device, $0.serial) }
        // Grants follow their claims (a grant is filed only for the connection holding the device).
        restoreQueue += held.map { Restore.grant($0.device, $0.serial) }
        // With the registry intact what is read now is the truth; without, a device read as
        // offline may only be waiting for its node to claim it again.
        restoreQueue += watchSteps(delegate.clusterWatchedDevices(), registryLost ? .reconnect : .settled)
        restoreIndex = 0
        guard registryLost else { return startRestoring() }
        // Once every node has had time to reconnect and claim its devices again, read them all
        // once more: what is offline then really went.
        settleTimer.start(afterMilliseconds: longestReconnect + options.leaseMilliseconds / 5) { [unowned self] in
            guard let delegate = self.delegate, isAvailable else { return }
            restoreQueue += watchSteps(delegate.clusterWatchedDevices(), .settled)
            startRestoring()
        }
        startRestoring()
    }

    /// Watch registrations (and their reads), 500 devices a script call.
    private func watchSteps(_ devices: [String], _ when: WatchCheck) -> [Restore] {
        stride(from: 0, to: devices.count, by: 500).map { .watch(Array(devices[$0..<min($0 + 500, devices.count)]), when) }
    }

    private func startRestoring() {
        if restoreIdle == nil { restoreIdle = try? Idle(loop: loop) { [unowned self] in restoreBatch() } }
        restoreIdle?.start()
    }

    /// Up to 500 restores per loop iteration: a fleet's return is no storm.
    private func restoreBatch() {
        guard isAvailable else { return restoreIdle?.stop() ?? () }
        let end = min(restoreIndex + 500, restoreQueue.count)
        for step in restoreQueue[restoreIndex..<end] {
            switch step {
            case .release(let device, let serial):
                scripts.release.run(on: commands, keys: [], arguments: [bytes(nodeID), bytes(String(serial)), bytes(device), bytes(options.presence)]) { _ in }
            case .claim(let device, let serial):
                scripts.claim.run(on: commands, keys: [], arguments: claimArguments(device, serial, restore: true)) { [weak self] reply in
                    if reply.elements?.first?.string == "taken" { self?.delegate?.cluster(claimTaken: device, serial: serial) }
                }
            case .grant(let device, let serial):
                if let peers = delegate?.clusterGrant(of: device) { publishGrant(device, serial: serial, peers: peers) { _ in } }
            case .watch(let devices, let when):
                registerWatches(devices, when: when)
            }
        }
        restoreIndex = end
        if restoreIndex >= restoreQueue.count {
            restoreQueue.removeAll()
            restoreIndex = 0
            restoreIdle?.stop()
        }
    }

    private func renewAndSweep() {
        guard isAvailable else { return }
        renewLease { [weak self] wasMissing in
            // Missing from the registry: reaped while this node was away (its devices were
            // announced offline), or Redis lost its data. Either way, claim everything again.
            if wasMissing, let self, self.restoreQueue.isEmpty { self.restoreAll(registryLost: true) }
        }
        // A node whose link just came back waits a lease and the longest reconnect (backoff and
        // handshake) before judging others: after Redis itself was away every lease looks
        // expired until each node has reconnected and renewed its own.
        let judging = loop.now >= judgeAfter
        // One range read of lapsed deadlines a sweep, however many nodes there are.
        scripts.lapsed.run(on: commands, keys: []) { [weak self] reply in
            guard let self, let parts = reply.elements, parts.count == 2, let lapsed = parts[1].elements else { return }
            nodesSeen = Int(parts[0].integer ?? 0)
            guard judging else { return }
            for member in lapsed {
                guard let node = member.string, node != nodeID else { continue }
                reap(node)
            }
        }
    }

    private func renewLease(_ done: @escaping (_ wasMissing: Bool) -> Void = { _ in }) {
        let value = FleetNode.leaseValue(address: options.advertisedAddress, routed: routedIn + routedOut)
        scripts.renew.run(on: commands, keys: [], arguments: [bytes(nodeID), bytes(value), bytes(String(options.leaseMilliseconds))]) { reply in
            done(reply.integer == 1)
        }
    }

    /// Every node in the registry, this one included; nil when Redis could not be asked.
    public func fleet(_ done: @escaping ([FleetNode]?) -> Void) {
        guard isAvailable else { return done(nil) }
        let lease = options.leaseMilliseconds
        scripts.nodes.run(on: commands, keys: []) { reply in
            guard let rows = reply.elements else { return done(nil) }
            done(rows.compactMap { row in
                guard let fields = row.elements, fields.count == 4, let id = fields[0].string else { return nil }
                let words = fields[1].string?.split(separator: " ")
                let remaining = fields[2].integer ?? -2
                return FleetNode(id: id, address: words?.first.map(String.init), devices: Int(fields[3].integer ?? 0),
                                 routed: words?.last.flatMap { UInt64($0) } ?? 0,
                                 leaseAgeMilliseconds: remaining >= 0 ? lease - min(lease, UInt64(remaining)) : nil)
            })
        }
    }

    private func reap(_ node: String) {
        scripts.reap.run(on: commands, keys: [], arguments: [bytes(node), bytes("500"), bytes(options.presence)]) { [weak self] reply in
            switch reply.integer {
            case 1: self?.reap(node)
            case 0: self?.nodesReaped += 1
            default: break
            }
        }
    }

    // MARK: The inbox

    private func readInbox() {
        guard !reading, inbox.isConnected else { return }
        reading = true
        inbox.send(InboxWords.read + [inboxKey, lastEntryID], timeout: .milliseconds(3000)) { [weak self] reply in
            guard let self else { return }
            reading = false
            if case .failure = reply { return }   // the link reconnects, and reads on from lastEntryID
            let entries = InboxEntry.entries(inXREADReply: reply)
            for (id, fields) in entries {
                lastEntryID = id
                untrimmedEntries += 1
                untrimmedBytes += fields.reduce(0) { $0 + ($1.bytes?.count ?? 0) }
                if let entry = InboxEntry(fields: fields) { handle(entry) }
            }
            trimIfDue(idle: entries.isEmpty)
            readInbox()
        }
    }

    /// What was handled leaves the stream a batch at a time (and once a read found nothing new),
    /// sent with the next read: the cap counts unread entries and at most a batch of read ones.
    private func trimIfDue(idle: Bool) {
        // A small cap is not to be filled with read entries.
        let batch = max(1, min(InboxWords.trimEntries, options.inboxMaxEntries / 8))
        guard untrimmedEntries >= batch || untrimmedBytes >= InboxWords.trimBytes || (idle && untrimmedEntries > 0),
              let after = ClusterNode.idAfter(lastEntryID) else { return }
        untrimmedEntries = 0
        untrimmedBytes = 0
        inbox.send([InboxWords.xtrim, inboxKey, InboxWords.minid, after]) { _ in }
    }

    private enum InboxWords {
        static let read = ["XREAD", "COUNT", "1000", "BLOCK", "1000", "STREAMS"].map(bytes)
        static let xtrim = bytes("XTRIM")
        static let minid = bytes("MINID")
        static let trimEntries = 128
        static let trimBytes = 1 << 20
    }

    private func handle(_ entry: InboxEntry) {
        guard let delegate else { return }
        switch entry {
        case .messages(let senderNode, let records):
            _ = records.withUnsafeBytes { raw in
                InboxRecord.forEach(in: raw) { device, sender, payload in
                    routedIn += 1
                    delegate.cluster(deliver: payload, to: device, from: sender, senderNode: senderNode)
                }
            }
        case .presence(let device, let online):
            delegate.cluster(presenceOf: device, online: online)
        case .replace(let device, let serial):
            delegate.cluster(replaced: device, serial: serial)
        case .answer(let device, let reply):
            delegate.cluster(answer: reply, to: device)
        case .kept(let device):
            keptHints.insert(device)
            delegate.cluster(keptFor: device)
        case .listed(let device, let lister):
            delegate.cluster(device, mayHear: lister)
        case .revoked(let box, let phone, let until):
            delegate.cluster(revoked: box, phone: phone, until: until)
        case .lifted(let box, let phone):
            delegate.cluster(lifted: box, phone: phone)
        case .disconnect(let device, let reason):
            delegate.cluster(disconnect: device, reason: reason)
        }
    }

    // MARK: Helpers

    /// The longest a node takes to notice Redis is back: a backoff at its cap, then a handshake.
    private var longestReconnect: UInt64 {
        commands.options.backoff.ceilingMilliseconds(attempt: 64) + commands.options.commandTimeout.milliseconds
    }

    /// The stream id right after `id` ("ms-seq" with seq + 1), so MINID drops `id` itself too.
    static func idAfter(_ id: [UInt8]) -> [UInt8]? {
        guard let dash = id.firstIndex(of: UInt8(ascii: "-")),
              let sequence = UInt64(String(decoding: id[(dash + 1)...], as: UTF8.self)) else { return nil }
        return Array(id[..<dash]) + Array("-\(sequence + 1)".utf8)
    }

    /// The kept-message bounds as script arguments (messages and bytes per recipient, all bytes).
    var keptLimitArguments: [[UInt8]] {
        let limits = options.keptLimits
        return [bytes(String(limits.messagesPerRecipient)), bytes(String(limits.bytesPerRecipient)), bytes(String(limits.totalBytes))]
    }

    private func claimArguments(_ device: String, _ serial: UInt64, restore: Bool) -> [[UInt8]] {
        [bytes(nodeID), bytes(String(serial)), bytes(device), bytes(options.presence), bytes(restore ? "1" : "0")]
    }

}

/// A command argument: the text's UTF-8 bytes.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

extension Duration {
    var milliseconds: UInt64 { UInt64(max(0, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)) }
}

extension ClusterNode {
    /// The node `device` is connected to; nil when it is on none or Redis could not be asked.
    public func holder(of device: String, _ done: @escaping (String?) -> Void) {
        guard isAvailable else { return done(nil) }
        commands.send([Array("HGET".utf8), Array("tether:dev:\(device)".utf8), Array("node".utf8)]) { done($0.string) }
    }
}
