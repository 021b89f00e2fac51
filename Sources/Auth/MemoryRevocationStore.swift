/// A `RevocationStore` held in memory, lost on restart.
public final class MemoryRevocationStore: RevocationStore {
    private struct Pair: Hashable {
        let box: String
        let phone: String
    }

    private var expiries: [Pair: Int64] = [:]

    /// Creates an empty store.
    public init() {}

    /// How many revocations are held.
    public var count: Int { expiries.count }

    /// Whether `box` has revoked `phone`.
    public func isRevoked(box: String, phone: String) -> Bool {
        !expiries.isEmpty && expiries[Pair(box: box, phone: phone)] != nil   // asked per message: the empty case costs nothing
    }

    /// Records the revocation; revoking again keeps the later expiry.
    public func revoke(box: String, phone: String, until expiry: Int64) {
        let pair = Pair(box: box, phone: phone)
        expiries[pair] = max(expiries[pair] ?? .min, expiry)
    }

    /// Forgets the revocation (the two paired again).
    public func lift(box: String, phone: String) {
        expiries[Pair(box: box, phone: phone)] = nil
    }

    /// Drops revocations whose expiry is before `now`.
    public func prune(now: Int64) {
        expiries = expiries.filter { $0.value >= now }
    }
}
