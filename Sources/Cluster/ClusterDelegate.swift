/// What a cluster node asks of the server it serves. Every call comes on the server's loop.
public protocol ClusterDelegate: AnyObject {
    /// A message another node routed to `device`, which this node held when it was sent (the
    /// bytes are valid during the call only).
    func cluster(deliver payload: UnsafeRawBufferPointer, to device: String, from senderDevice: String, senderNode: String)
    /// A message `sender` (a connection here, as given to `route(...sender:idJSON:)`) sent to
    /// `device` was not queued: the outcome to answer it with.
    func cluster(routed outcome: RouteOutcome, to device: String, sender: AnyObject, idJSON: [UInt8]?)
    /// `device` elsewhere came online or went offline (only devices this node hears about).
    func cluster(presenceOf device: String, online: Bool)
    /// The connection of `device` with `serial` was replaced by one on another node: close it with 4001.
    func cluster(replaced device: String, serial: UInt64)
    /// A status reply for `device` here about a message it sent to another node.
    func cluster(answer reply: [UInt8], to device: String)
    /// Something was kept for `device`, held here, after its claim (a message its closing
    /// connection never sent, kept again): take it.
    func cluster(keptFor device: String)
    /// Token mode: `lister`, connected elsewhere, lists `device` (held here) or is listed by it:
    /// `device` hears of `lister` unless a revocation stands between them.
    func cluster(_ device: String, mayHear lister: String)
    /// Token mode: a revocation filed by another node (or read at link up).
    func cluster(revoked box: String, phone: String, until: Int64)
    func cluster(lifted box: String, phone: String)
    /// The operator disconnects `device` (held here) through another node: close it with 4002.
    func cluster(disconnect device: String, reason: String)
    /// Token mode: the ids the token of `device` (held here) lists; nil when not in token mode.
    func clusterGrant(of device: String) -> [String]?
    /// The link to Redis went down or came back.
    func cluster(available: Bool)
    /// Every device held here now, with its connection's serial (restored after Redis came back).
    func clusterLocalDevices() -> [(device: String, serial: UInt64)]
    /// Every device watched here (registered again after Redis came back).
    func clusterWatchedDevices() -> [String]
    /// A restored claim found `device` on another node meanwhile: the local connection must go (4001).
    func cluster(claimTaken device: String, serial: UInt64)
    /// Whether `device` is on some node, read right after this node registered as its watcher.
    func cluster(checked device: String, online: Bool, when: WatchCheck)
}

/// Why a watched device's state was read.
public enum WatchCheck: Sendable {
    /// This node started watching it: what its watchers learned from their query stands.
    case firstWatch
    /// Redis is back: devices that came online meanwhile can be told at once, but one found
    /// offline may only be waiting for its node to claim it again (Redis lost its data).
    case reconnect
    /// Every node has had time to reconnect and claim its devices again: tell any difference.
    case settled
}
