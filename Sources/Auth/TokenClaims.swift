/// The claims Tether reads from a verified token.
public struct TokenClaims: Sendable, Equatable {
    /// The device id the token was issued to.
    public var sub: String
    /// Expiry, Unix seconds.
    public var exp: Int64
    /// Not-before, Unix seconds.
    public var nbf: Int64?
    /// Issued-at, Unix seconds.
    public var iat: Int64?
    /// The device's kind, when the issuer stated it.
    public var kind: DeviceKind?
    /// Device ids this device may message.
    public var peers: [String]

    /// Creates claims; only `sub` and `exp` are required.
    public init(sub: String, exp: Int64, nbf: Int64? = nil, iat: Int64? = nil, kind: DeviceKind? = nil, peers: [String] = []) {
        self.sub = sub
        self.exp = exp
        self.nbf = nbf
        self.iat = iat
        self.kind = kind
        self.peers = peers
    }
}
