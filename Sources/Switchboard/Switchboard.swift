/// What the switchboard needs of a connection: a slot for the device id it is registered under.
/// Only the switchboard sets it (on register; back to nil when the connection is replaced or
/// leaves), and the registry reads ids from there instead of keeping copies of them.
public protocol SwitchboardPeer: AnyObject {
    var deviceID: String? { get set }
}

/// The routing and presence rules as plain state: which device is where, who may send what to
/// whom, and which presence events are owed to whom at the end of a tick. No I/O: the server
/// asks, performs the answer and reports what happened.
///
/// `Peer` is the server's connection type; the switchboard only keeps and compares references.
public final class Switchboard<Peer: SwitchboardPeer> {
    public let presence: PresenceMode
    public let allowClientBroadcast: Bool
    /// Ids one connection may watch (watchers mode).
    public let maxWatched: Int
    /// Which messages to an offline device are kept (and the `ttl` range).
    public let keep: KeepRule
    public static var maxQueryIDs: Int { 100 }
    /// One node of a fleet: a device that is not here may be on another node (route answers
    /// `.elsewhere`), and presence is announced only through `announce`, once the fleet's
    /// registry has said whether a device really came or went.
    public let clustered: Bool
    /// Called when a device gains its first watcher here (true) or loses its last (false), so a
    /// fleet can tell this node about that device's events elsewhere.
    public var onWatchChange: ((String, Bool) -> Void)?

    private var devices = DeviceTable<Peer>()
    private var pending: [PresenceEvent] = []
    /// watchers mode: subject id -> its watchers, and each watcher's subjects (for cleanup).
    private var watchersOf: [String: [ObjectIdentifier: Peer]] = [:]
    private var subjectsOf: [ObjectIdentifier: Set<String>] = [:]

    public init(presence: PresenceMode = .all, allowClientBroadcast: Bool = false, maxWatched: Int = 1000, keep: KeepRule = KeepRule(),
                clustered: Bool = false) {
        self.presence = presence
        self.clustered = clustered
        self.allowClientBroadcast = allowClientBroadcast
        self.maxWatched = maxWatched
        self.keep = keep
    }

    /// Presence events are waiting for the end of the tick.
    public var hasPendingPresence: Bool { !pending.isEmpty }

    public var deviceCount: Int { devices.count }
    /// Presence events queued since start (for metrics).
    public private(set) var presenceEventCount: UInt64 = 0
    public func peer(for id: String) -> Peer? { devices[id] }
    public func forEachPeer(_ body: (Peer) -> Void) { devices.forEach(body) }

    // MARK: Registration

    /// Registers `peer` as device `id`. Returns the connection it replaces, if any: that one is to
    /// be closed with 4001, and no presence change is announced since the device never left.
    public func register(_ id: String, _ peer: Peer) -> Peer? {
        peer.deviceID = id
        let previous = devices.insert(peer, for: id)
        if let previous {
            previous.deviceID = nil
            forgetWatches(of: previous)
        } else if presence != .off && !clustered {
            queue(PresenceEvent(device: id, online: true))
        }
        return previous
    }

    /// The connection `peer` of device `id` ended. Offline is announced only if it was still the
    /// device's current connection (a replaced one leaves quietly). Returns whether it was.
    @discardableResult
    public func unregister(_ id: String, _ peer: Peer) -> Bool {
        forgetWatches(of: peer)
        guard devices.remove(peer, for: id) else { return false }
        peer.deviceID = nil
        if presence != .off && !clustered { queue(PresenceEvent(device: id, online: false)) }
        return true
    }

    /// Queues device `id`'s coming or going for its watchers here (a fleet's registry decided it).
    public func announce(_ id: String, online: Bool) {
        if presence != .off { queue(PresenceEvent(device: id, online: online)) }
    }

    /// Whether any connection here watches `id` (watchers mode).
    public func isWatched(_ id: String) -> Bool { watchersOf[id] != nil }

    /// Every device watched here (watchers mode).
    public var watchedDevices: Dictionary<String, [ObjectIdentifier: Peer]>.Keys { watchersOf.keys }

    /// Unregisters without announcing (a draining server, whose devices will reconnect elsewhere).
    public func unregisterQuietly(_ id: String, _ peer: Peer) {
        forgetWatches(of: peer)
        if devices.remove(peer, for: id) { peer.deviceID = nil }
    }

    private func queue(_ event: PresenceEvent) {
        pending.append(event)
        presenceEventCount += 1
    }

    // MARK: Watching

    /// `watcher` hears about `subjects` from now on (watchers mode; ignored otherwise), as far as
    /// its `maxWatched` allows: returns false if some were left out.
    @discardableResult
    public func watch(_ watcher: Peer, _ subjects: [String]) -> Bool {
        guard presence == .watchers else { return true }
        let key = ObjectIdentifier(watcher)
        // Changed in place: routing calls this per message, and a copy of the set would cost its size.
        for subject in subjects where subjectsOf[key]?.contains(subject) != true {
            guard (subjectsOf[key]?.count ?? 0) < maxWatched else { return false }
            subjectsOf[key, default: []].insert(subject)
            if watchersOf[subject] == nil { onWatchChange?(subject, true) }
            watchersOf[subject, default: [:]][key] = watcher
        }
        return true
    }

    /// Whether `watcher` hears about `subject`.
    public func watches(_ watcher: Peer, _ subject: String) -> Bool {
        subjectsOf[ObjectIdentifier(watcher)]?.contains(subject) == true
    }

    /// `watcher` no longer hears about `subjects`.
    public func unwatch(_ watcher: Peer, _ subjects: [String]) {
        let key = ObjectIdentifier(watcher)
        for subject in subjects {
            subjectsOf[key]?.remove(subject)
            watchersOf[subject]?[key] = nil
            if watchersOf[subject]?.isEmpty == true { watchersOf[subject] = nil; onWatchChange?(subject, false) }
        }
    }

    /// Whether `watcher` has room to watch all of `subjects` (watchers mode).
    func watchRoom(_ watcher: Peer, for subjects: [String]) -> Bool {
        guard presence == .watchers else { return true }
        let watched = subjectsOf[ObjectIdentifier(watcher)] ?? []
        return watched.count + Set(subjects).subtracting(watched).count <= maxWatched
    }

    private func forgetWatches(of peer: Peer) {
        guard presence == .watchers, let subjects = subjectsOf.removeValue(forKey: ObjectIdentifier(peer)) else { return }
        for subject in subjects {
            watchersOf[subject]?[ObjectIdentifier(peer)] = nil
            if watchersOf[subject]?.isEmpty == true { watchersOf[subject] = nil; onWatchChange?(subject, false) }
        }
    }

    // MARK: Routing

    public enum Route {
        /// Forward the sender's bytes unchanged to this peer.
        case deliver(Peer)
        /// Forward the sender's bytes to every other device (only with --allow-client-broadcast).
        case broadcast
        /// The recipient is offline and the message is to be kept this many seconds (status 8
        /// once kept).
        case keep(seconds: Int)
        /// Answer the sender with this reply.
        case reply(Reply)
        /// Not on this node (clustered): ask the fleet.
        case elsewhere
        /// A status query for these ids, which the fleet answers (clustered).
        case query([String])
    }

    /// Decides what happens to a text message from device `senderID` (connection `sender`).
    public func route(_ envelope: Envelope, payload: UnsafeRawBufferPointer, from senderID: String, sender: Peer) -> Route {
        // Ids are bytes: compared as bytes, not by Unicode canonical equivalence as String's == does.
        guard sameBytes(envelope.from, senderID) else {
            return .reply(Reply(.forbidden, "\"from\" must be your own device id", idJSON: envelope.idJSON))
        }
        // Lengths first: most messages go to a device, and String's == on two different ids
        // calls into the runtime (neither word has a canonically equivalent non-ASCII spelling).
        let toLength = envelope.to.utf8.count
        if toLength == 6 && envelope.to == "server" {
            if clustered, JSONString.plain(payload, envelope.msgRange) == "\"queryStatus\"",
               let range = envelope.dataRange, let ids = JSONString.stringArray(payload, range) {
                return .query(ids)
            }
            return .reply(command(envelope, payload: payload, sender: sender))
        }
        if toLength == 3 && envelope.to == "all" {
            if allowClientBroadcast { return .broadcast }
            return .reply(Reply(.forbidden, "broadcast to \"all\" is not allowed", idJSON: envelope.idJSON))
        }
        if let ttl = envelope.ttl, !keep.allows(ttl) {
            return .reply(Reply(.malformed, keep.rangeProblem, idJSON: envelope.idJSON))
        }
        // Registered ids are valid, so the id rules are checked only when the lookup misses.
        guard let recipient = devices[envelope.to] else {
            if let problem = DeviceID.problem(with: envelope.to) {
                return .reply(Reply(.malformed, "\"to\": \(problem)", idJSON: envelope.idJSON))
            }
            if clustered {
                if presence == .watchers { watch(sender, [envelope.to]) }
                return .elsewhere
            }
            if let seconds = keep.seconds(for: envelope.ttl) { return .keep(seconds: seconds) }
            return .reply(Reply(.targetOffline, "target offline", dataJSON: Reply.statusMap([(envelope.to, false)]), idJSON: envelope.idJSON))
        }
        if presence == .watchers {
            watch(sender, [envelope.to])
            watch(recipient, [senderID])
        }
        return .deliver(recipient)
    }

    /// `{"to":"server","msg":"queryStatus","data":["B","C"]}`.
    private func command(_ envelope: Envelope, payload: UnsafeRawBufferPointer, sender: Peer) -> Reply {
        let msg = JSONString.plain(payload, envelope.msgRange)
        guard msg == "\"queryStatus\"" else {
            return Reply(.malformed, "unknown server command", idJSON: envelope.idJSON)
        }
        guard let range = envelope.dataRange, let ids = JSONString.stringArray(payload, range) else {
            return Reply(.malformed, "queryStatus needs \"data\": an array of device ids", idJSON: envelope.idJSON)
        }
        switch queryStatus(ids, watcher: sender) {
        case .success(let json): return Reply(.ok, "ok", dataJSON: json, idJSON: envelope.idJSON)
        case .failure(let problem): return Reply(.malformed, problem.description, idJSON: envelope.idJSON)
        }
    }

    /// The status map for `ids`, which also makes `watcher` a watcher of them.
    public func queryStatus(_ ids: [String], watcher: Peer?) -> Result<String, QueryProblem> {
        guard !ids.isEmpty else { return .failure(QueryProblem("no device ids to query")) }
        guard ids.count <= Switchboard.maxQueryIDs else {
            return .failure(QueryProblem("at most \(Switchboard.maxQueryIDs) ids per query"))
        }
        if let bad = ids.first(where: { !DeviceID.isValid($0) }) {
            return .failure(QueryProblem("\(DeviceID.problem(with: bad)!): \(bad)"))
        }
        if let watcher {
            guard watchRoom(watcher, for: ids) else {
                return .failure(QueryProblem("a connection may watch at most \(maxWatched) devices"))
            }
            watch(watcher, ids)
        }
        return .success(Reply.statusMap(ids.map { ($0, devices[$0] != nil) }))
    }

    // MARK: Presence

    /// Events queued since the last call, and who gets them; nil when there are none.
    public func takePresence() -> PresenceDelivery<Peer>? {
        guard !pending.isEmpty else { return nil }
        let events = pending
        pending.removeAll(keepingCapacity: true)
        if presence == .all { return .everyone(events) }
        var order: [ObjectIdentifier] = []
        var byPeer: [ObjectIdentifier: (peer: Peer, events: [PresenceEvent])] = [:]
        func add(_ peer: Peer, _ event: PresenceEvent) {
            let key = ObjectIdentifier(peer)
            if byPeer[key] == nil { order.append(key); byPeer[key] = (peer, []) }
            byPeer[key]!.events.append(event)
        }
        for event in events {
            if event.online, let subject = devices[event.device] { add(subject, event) }
            for watcher in watchersOf[event.device]?.values ?? [:].values { add(watcher, event) }
        }
        return .individually(order.map { byPeer[$0]! })
    }
}

public struct QueryProblem: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
