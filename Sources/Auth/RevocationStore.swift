/// Remembers "box unpaired phone" until the tokens that paired them have expired.
public protocol RevocationStore: AnyObject {
    /// Whether `box` has revoked `phone` (and the revocation has not been pruned).
    func isRevoked(box: String, phone: String) -> Bool
    /// Records that `box` revoked `phone`, to be kept at least until `expiry` (Unix seconds).
    func revoke(box: String, phone: String, until expiry: Int64) throws
    /// Drops revocations whose expiry is before `now`.
    func prune(now: Int64) throws
    /// Forgets that `box` revoked `phone` (they paired again).
    func lift(box: String, phone: String) throws
}

/// A store that cannot lift a revocation says so.
public struct LiftUnsupported: Error {}

extension RevocationStore {
    public func lift(box: String, phone: String) throws { throw LiftUnsupported() }
}
