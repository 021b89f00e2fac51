/// What one connected device's token allows it.
public struct Grant: Sendable, Equatable {
    /// The device's kind; `.service` may message anyone.
    public var kind: DeviceKind?
    /// Device ids this device may message.
    public var peers: Set<String>

    /// Creates a grant.
    public init(kind: DeviceKind?, peers: Set<String>) {
        self.kind = kind
        self.peers = peers
    }

    /// The grant a verified token carries.
    public init(claims: TokenClaims) {
        self.init(kind: claims.kind, peers: Set(claims.peers))
    }
}
