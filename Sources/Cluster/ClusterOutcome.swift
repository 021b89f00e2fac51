import Storage

/// How a claim ended.
public enum ClaimOutcome: Equatable, Sendable {
    /// The device was on no node: it came online (the other nodes were told).
    case cameOnline
    /// It was already online (here or on another node, which closes its old connection): no presence.
    case wasOnline
    /// Redis could not be asked: the claim waits for the link to come back.
    case unavailable
}

/// How a release ended.
public enum ReleaseOutcome: Equatable, Sendable {
    /// This connection held the device: it went offline (the other nodes were told).
    case wentOffline
    /// Another connection holds it now (a replace): nothing changes.
    case notHeld
    /// Redis could not be asked: the release waits for the link to come back.
    case unavailable
}

/// How a message to a device on no local connection ended.
public enum RouteOutcome: Equatable, Sendable {
    /// In the owner's inbox.
    case queued
    /// On no node.
    case offline
    /// The owner's inbox is over its cap.
    case busy
    /// Redis could not be asked (or the link failed with the message in flight).
    case unavailable
    /// On no node, and asked to be kept: kept, or refused by a bound.
    case kept(KeepOutcome)
    /// Token mode: the recipient's grant does not list the sender (nor did the sender's own).
    case forbidden
}

/// A message to keep if its recipient is on no node: for how long, and its raw `id` (receipts name it).
public struct KeepRequest: Sendable {
    public var seconds: Int
    public var idJSON: [UInt8]?

    public init(seconds: Int, idJSON: [UInt8]?) {
        self.seconds = seconds
        self.idJSON = idJSON
    }
}
