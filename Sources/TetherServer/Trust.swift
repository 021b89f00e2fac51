import Auth
import Glibc
import Switchboard
import UV

/// Token mode's state on the loop: who each connected device proved to be, whom it may message,
/// the pairing codes handed out, and revocations. The decisions are Auth's; this keeps them per
/// device and answers the server's questions in O(1).
final class Trust {
    let verifier: TokenVerifier
    /// Mints phone tokens at pairing (and for the API); nil when only public keys are configured.
    let signer: TokenSigner?
    let revocations: RevocationStore
    let grants = GrantTable()
    var codes = PairingCodes()
    /// Wall-clock expiry (the token's `exp`) of each connected device's token: the connection is
    /// closed then (the verifier's leeway is for clocks at the handshake, not a longer life).
    private(set) var expiries: [String: Int64] = [:]
    /// Reverse index of grants: device -> connected devices whose token lists it.
    private var listedBy: [String: Set<String>] = [:]
    /// The Host each token-mode box connected through (its pairing URL is built on it).
    private(set) var hosts: [String: String] = [:]
    /// Pairing-code requests and exchanges per address.
    var pairingLimiter = RateLimiter<IPAddress>(perSecond: 5)
    static let leewaySeconds: Int64 = 30
    /// Each sender's last allowed recipient; whatever could withdraw a permission invalidates it.
    var recentPermissions = RecentPermissions()

    init(verifier: TokenVerifier, signer: TokenSigner?, revocations: RevocationStore) {
        self.verifier = verifier
        self.signer = signer
        self.revocations = revocations
    }

    static func now() -> Int64 { Int64(time(nil)) }

    func verify(_ token: String?, for id: String) -> Result<TokenClaims, TokenProblem> {
        guard let token, !token.isEmpty else { return .failure(.missing) }
        return verifier.verify(token, now: Trust.now(), expectedSubject: id)
    }

    /// Device `id` is connected with these verified claims (a refresh calls this again).
    func admit(_ id: String, _ claims: TokenClaims, host: String?) {
        if let old = grants.grant(for: id) {
            for peer in old.peers { listedBy[peer]?.remove(id) }
            recentPermissions.invalidate()
        }
        let grant = Grant(claims: claims)
        grants.setGrant(grant, for: id)
        for peer in grant.peers { listedBy[peer, default: []].insert(id) }
        expiries[id] = claims.exp
        if let host { hosts[id] = host }
    }

    /// Device `id` left (its current connection ended).
    func forget(_ id: String) {
        recentPermissions.invalidate()
        if let grant = grants.grant(for: id) {
            for peer in grant.peers {
                listedBy[peer]?.remove(id)
                if listedBy[peer]?.isEmpty == true { listedBy[peer] = nil }
            }
        }
        grants.removeGrant(for: id)
        expiries[id] = nil
        hosts[id] = nil
    }

    /// `mayMessage` for a connected sender, answered from `recentPermissions` when it can be.
    func mayMessage(_ sender: String, _ recipient: String, connection: ObjectIdentifier) -> Bool {
        if recentPermissions.allows(connection, recipient) { return true }
        guard mayMessage(sender, recipient) else { return false }
        recentPermissions.remember(connection, recipient)
        return true
    }

    func mayMessage(_ sender: String, _ recipient: String) -> Bool {
        grants.mayMessage(from: sender, to: recipient) { revocations.isRevoked(box: $0, phone: $1) }
    }

    /// Whether a revocation stands between the two, whichever of them is the box.
    func revokedEitherWay(_ a: String, _ b: String) -> Bool {
        revocations.isRevoked(box: a, phone: b) || revocations.isRevoked(box: b, phone: a)
    }

    /// `mayMessage` for a verified token that need not be connected (HTTP callers).
    func mayMessage(claims: TokenClaims, _ recipient: String) -> Bool {
        grants.mayMessage(from: claims.sub, holding: Grant(claims: claims), to: recipient) { revocations.isRevoked(box: $0, phone: $1) }
    }

    /// Whose presence device `id` may hear: the ids it may message that a grant names.
    func presenceView(of id: String) -> [String] {
        let named = grants.visiblePeers(of: id).union(listedBy[id] ?? [])
        return named.filter { mayMessage(id, $0) }.sorted()
    }

    /// Connected devices whose token lists `id` (they hear about it).
    func devicesListing(_ id: String) -> Set<String> { listedBy[id] ?? [] }

    func kind(of id: String) -> DeviceKind? { grants.grant(for: id)?.kind }
}
