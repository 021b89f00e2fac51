import Cluster
import Redis
import Storage
import Switchboard
import UV
import WebSocket

/// The server as one node of a fleet (`--cluster`): devices are claimed in the shared registry
/// before their 101, a message to a device not held here goes to its node's inbox, and presence
/// is announced here only once the registry has said a device really came or went.
extension Server {
    public static func isValidClusterURL(_ text: String) -> Bool {
        guard let url = RedisURL(text) else { return false }
        return url.host == "localhost" || IPAddress(url.host) != nil
    }

    static func makeCluster(_ config: ServerConfig, loop: Loop) throws -> ClusterNode? {
        guard let text = config.clusterURL else { return nil }
        guard let url = RedisURL(text) else { throw ClusterConfigurationError("not a redis:// URL: \(text)") }
        var options = ClusterOptions(url: url, presence: config.presence.rawValue, advertisedAddress: "\(config.host):\(config.port)")
        options.leaseMilliseconds = config.clusterLeaseMilliseconds
        options.inboxMaxEntries = config.clusterInboxMax
        options.keptLimits = KeptLimits(messagesPerRecipient: config.offlineMaxMessages, bytesPerRecipient: config.offlineMaxBytes,
                                        totalBytes: config.offlineMaxTotalBytes)
        return try ClusterNode(loop: loop, options: options)
    }

    /// Asks the registry for device `id` before `admit` upgrades the connection, so the server
    /// knows whether the device came online or was already online elsewhere (then its old
    /// connection there gets 4001 and nobody hears a thing). Without Redis the device is admitted
    /// on this node's word and claimed once the link is back.
    /// The connect-time `queryStatus` ids elsewhere are looked up in the same round trip, so
    /// `admit` answers them before the device's own online, as a single process does.
    func claimDevice(_ connection: Connection, as id: String, query: [String], then admit: @escaping (FleetStates?) -> Void) {
        nextClusterSerial += 1
        let serial = nextClusterSerial
        guard let cluster, cluster.isAvailable else {
            return admitClaimed(connection, id, serial, .unavailable) { admit(nil) }
        }
        connection.beginWaiting()
        claimsInFlight[serial] = false
        var claimed: ClaimOutcome?
        cluster.claim(id, serial: serial) { claimed = $0 }
        let elsewhere = query.filter { switchboard.peer(for: $0) == nil && DeviceID.isValid($0) }
        cluster.lookup(elsewhere) { [unowned self] states in   // answered after the claim
            let outcome = claimed ?? .unavailable
            let replacedMeanwhile = claimsInFlight.removeValue(forKey: serial) == true
            guard connection.isWaiting else {
                // The client left before the answer: give the claim back.
                if outcome != .unavailable { cluster.release(id, serial: serial) { _ in } }
                return
            }
            let fleet = states.map { FleetStates(Dictionary(zip(elsewhere, $0), uniquingKeysWith: { first, _ in first })) }
            admitClaimed(connection, id, serial, outcome) { admit(fleet) }
            if replacedMeanwhile, connection.isOpen { connection.fail(.replaced, reason: "replaced") }
            connection.endWaiting()
        }
    }

    private func admitClaimed(_ connection: Connection, _ id: String, _ serial: UInt64, _ outcome: ClaimOutcome, _ admit: () -> Void) {
        let replacedHere = switchboard.peer(for: id) != nil
        clusterSerials[id] = serial
        admit()
        if outcome == .cameOnline || (outcome == .unavailable && !replacedHere) { announcePresence(id, online: true) }
    }

    /// The current connection of device `id` ended here: release its claim, and announce it
    /// offline only if it still held the device (a replaced connection leaves quietly).
    func leaveCluster(_ id: String) {
        guard let cluster, let serial = clusterSerials.removeValue(forKey: id) else { return }
        cluster.release(id, serial: serial) { [unowned self] outcome in
            if outcome != .notHeld { announcePresence(id, online: false) }
        }
    }

    /// Tells this node's watchers of `id`; in watchers mode each watched device's last announced
    /// state is kept, so that an event heard twice (or re-read after a reconnect) is told once.
    func announcePresence(_ id: String, online: Bool) {
        if switchboard.presence == .watchers && switchboard.isWatched(id) {
            if presenceKnown[id] == online { return }
            presenceKnown[id] = online
        }
        switchboard.announce(id, online: online)
    }

    /// A message to a device this node does not hold; one with a ttl is kept if the device is on no node.
    func routeElsewhere(_ payload: UnsafeRawBufferPointer, _ envelope: Envelope, from sender: String, connection: Connection) {
        let to = envelope.to
        let idJSON = envelope.idJSON
        guard let cluster, cluster.isAvailable else { return connection.send(Server.clusterUnavailable(idJSON)) }
        let keep = switchboard.keep.seconds(for: envelope.ttl).map { KeepRequest(seconds: $0, idJSON: idJSON) }
        // Token mode: a sender whose own grant does not name the device needs the device's grant to
        // name it (asked through the connection's cached permission, as `authorize` did).
        let checkGrant = trust.map { !$0.mayMessage(sender, to, connection: ObjectIdentifier(connection)) } ?? false
        cluster.route(payload, to: to, from: sender, keep: keep, checkGrant: checkGrant, sender: connection, idJSON: idJSON)
    }

    /// How a message `connection` sent to `to` on another node ended, when it was not queued.
    func answerRoute(_ outcome: RouteOutcome, to: String, connection: Connection, idJSON: [UInt8]?) {
        if case .kept(let kept) = outcome { return answerKeep(kept, to: connection, recipient: to, idJSON: idJSON) }
        guard connection.isOpen else { return }
        switch outcome {
        case .queued, .kept: break   // queued: counted as routed by the node that delivers it
        case .offline: connection.send(Reply(.targetOffline, "target offline", dataJSON: Reply.statusMap([(to, false)]), idJSON: idJSON))
        case .busy: connection.send(Reply(.recipientBusy, "recipient busy", dataJSON: Reply.statusMap([(to, true)]), idJSON: idJSON))
        case .unavailable: connection.send(Server.clusterUnavailable(idJSON))
        case .forbidden: connection.send(Reply(.forbidden, "not paired with \(to)", idJSON: idJSON))
        }
    }

    static func clusterUnavailable(_ idJSON: [UInt8]?) -> Reply {
        Reply(.clusterUnavailable, "cluster unavailable, retry", idJSON: idJSON)
    }

    /// The status map for `ids` across the fleet (which also makes `watcher` a watcher of them);
    /// nil when the fleet could not be asked.
    func queryStatus(_ ids: [String], watcher: Connection?, fleet: FleetStates? = nil, _ done: @escaping (Result<String, QueryProblem>?) -> Void) {
        let local = switchboard.queryStatus(ids, watcher: watcher)
        guard let cluster, case .success = local else { return done(local) }
        let elsewhere = ids.filter { switchboard.peer(for: $0) == nil }
        guard !elsewhere.isEmpty else { return done(local) }
        if let fleet, elsewhere.allSatisfy({ fleet.online[$0] != nil }) {
            return done(.success(Reply.statusMap(ids.map { ($0, fleet.online[$0] ?? (switchboard.peer(for: $0) != nil)) })))
        }
        cluster.lookup(elsewhere) { [unowned self] states in
            guard let states else { return done(nil) }
            let online = Dictionary(zip(elsewhere, states), uniquingKeysWith: { first, _ in first })
            done(.success(Reply.statusMap(ids.map { ($0, online[$0] ?? (switchboard.peer(for: $0) != nil)) })))
        }
    }

    static func queryReply(_ answer: Result<String, QueryProblem>?, idJSON: [UInt8]?) -> Reply {
        switch answer {
        case .success(let map): Reply(.ok, "ok", dataJSON: map, idJSON: idJSON)
        case .failure(let problem): Reply(.malformed, problem.description, idJSON: idJSON)
        case nil: clusterUnavailable(idJSON)
        }
    }

    /// `GET /online_status` across the fleet.
    func onlineStatusAcrossFleet(_ head: HTTPRequestHead, from connection: Connection, _ done: @escaping (HTTPResponse) -> Void) {
        let unavailable = HTTPResponse.json(503, HTTPRoutes.text(Server.clusterUnavailable(nil)))
        switch HTTPRoutes.onlineStatusIDs(head, server: self) {
        case .failure(let refusal): done(refusal.response)
        case .success(let query):
            // Token mode: ids the caller's own token does not name may name the caller in theirs.
            let ask: (@escaping ([String]?) -> Void) -> Void = { [unowned self] answer in
                guard let caller = query.caller, !query.leftOut.isEmpty else { return answer(query.ids) }
                permittedIDs(query.leftOut, for: caller) { more in answer(more.map { query.ids + $0 }) }
            }
            ask { [unowned self] ids in
                guard let ids else { return done(unavailable) }
                guard !ids.isEmpty else { return done(.json(200, HTTPRoutes.text(Reply(.ok, "ok")))) }
                queryStatus(ids, watcher: nil) { answer in
                    guard let answer else { return done(unavailable) }
                    done(HTTPRoutes.onlineStatusResponse(answer))
                }
            }
        }
    }

    /// Keeps input a waiting connection sent (served once the fleet answered).
    func holdInput(_ connection: Connection, _ bytes: UnsafeRawBufferPointer) {
        waitingInput[ObjectIdentifier(connection), default: []].append(contentsOf: bytes)
    }
}

struct ClusterConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Server {
    func startCluster(_ cluster: ClusterNode) {
        let events = ClusterEvents(server: self)
        clusterEvents = events
        cluster.delegate = events
        if let console {
            let view = ClusterConsoleView(node: cluster)
            clusterConsole = view
            console.cluster = view
        }
        switchboard.onWatchChange = { [unowned self] device, watched in
            if watched {
                cluster.watch(device)
            } else {
                presenceKnown[device] = nil
                cluster.unwatch(device)
            }
        }
        if config.presence == .all {
            logger.warning("--presence all in a cluster: every node hears every device's events (traffic grows with nodes times events); prefer watchers")
        }
        logger.info("joining the fleet", metadata: ["node": "\(cluster.nodeID)", "redis": "\(cluster.options.url)"])
        cluster.start()
    }
}

extension Server {
    /// The cluster's lines of /metrics (none for a single process).
    func clusterMetrics() -> String {
        guard let cluster else { return "" }
        let lines: [(String, String, String, UInt64)] = [
            ("cluster_link_up", "gauge", "1 while the link to the fleet's Redis is up.", cluster.isAvailable ? 1 : 0),
            ("cluster_nodes", "gauge", "Nodes in the fleet's registry at the last sweep.", UInt64(cluster.nodesSeen)),
            ("cluster_routed_out_total", "counter", "Messages handed to other nodes' inboxes.", cluster.routedOut),
            ("cluster_routed_in_total", "counter", "Messages read from this node's inbox.", cluster.routedIn),
            ("cluster_nodes_reaped_total", "counter", "Dead nodes whose devices this node announced offline.", cluster.nodesReaped),
        ]
        return lines.map { "# HELP tether_\($0.0) \($0.2)\n# TYPE tether_\($0.0) \($0.1)\ntether_\($0.0) \($0.3)\n" }.joined()
    }
}

/// Whether devices elsewhere in the fleet were online, as Redis answered a moment ago.
struct FleetStates {
    let online: [String: Bool]
    init(_ online: [String: Bool]) { self.online = online }
}
