/// The grants of connected devices, answering "may A message B" with hash lookups.
public final class GrantTable {
    private var grants: [String: Grant] = [:]

    /// Creates an empty table.
    public init() {}

    /// How many devices hold a grant.
    public var count: Int { grants.count }

    /// Records (or replaces) the grant of device `id`.
    public func setGrant(_ grant: Grant, for id: String) {
        grants[id] = grant
    }

    /// Forgets device `id`, typically on disconnect.
    public func removeGrant(for id: String) {
        grants[id] = nil
    }

    /// The live grant of device `id`.
    public func grant(for id: String) -> Grant? {
        grants[id]
    }

    /// Whether `sender` may message `recipient`: a service may message anyone, otherwise
    /// either side's grant must list the other. A sender without a live grant may message
    /// no one. `revoked(box, phone)` vetoes in every case and is asked in both orders.
    public func mayMessage(from sender: String, to recipient: String, revoked: (String, String) -> Bool) -> Bool {
        guard let senderGrant = grants[sender] else { return false }
        return mayMessage(from: sender, holding: senderGrant, to: recipient, revoked: revoked)
    }

    /// The same rule for a sender whose grant is at hand (a verified token not connected here).
    public func mayMessage(from sender: String, holding senderGrant: Grant, to recipient: String,
                           revoked: (String, String) -> Bool) -> Bool {
        let granted = senderGrant.kind == .service
            || senderGrant.peers.contains(recipient)
            || grants[recipient]?.peers.contains(sender) == true
        // Grants first: the revocation check may be the costlier one.
        return granted && !revoked(recipient, sender) && !revoked(sender, recipient)
    }

    /// The peers device `id`'s own grant lists, for seeding its presence view.
    public func visiblePeers(of id: String) -> Set<String> {
        grants[id]?.peers ?? []
    }
}
