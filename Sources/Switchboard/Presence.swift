/// Who hears about devices coming and going.
public enum PresenceMode: String, Sendable, CaseIterable {
    /// Every connected device hears every event (the seed's behaviour).
    case all
    /// A device's events go only to devices that asked about it or exchanged a message with it
    /// on their current connection (and to the device itself): for large fleets.
    case watchers
    /// No presence frames at all.
    case off
}

public struct PresenceEvent: Equatable, Sendable {
    public let device: String
    public let online: Bool

    public init(device: String, online: Bool) {
        self.device = device
        self.online = online
    }

    /// `{"from":"ID","to":"all","msg":"online"}`; ids are plain ASCII by the id rules.
    public var json: String { "{\"from\":\"\(device)\",\"to\":\"all\",\"msg\":\"\(online ? "online" : "offline")\"}" }
}

/// One tick's presence events and who gets which.
public enum PresenceDelivery<Peer: AnyObject> {
    /// Every registered device gets all of `events` (encode once, write the same bytes to each).
    case everyone([PresenceEvent])
    /// Each listed peer gets its own subset, in order.
    case individually([(peer: Peer, events: [PresenceEvent])])
}
