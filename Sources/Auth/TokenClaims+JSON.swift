extension TokenClaims {
    /// Most peers one token may list, to bound memory per connection.
    static let maxPeers = 1000

    /// Reads claims from a verified payload. JSON null counts as absent for optional claims.
    init(json bytes: [UInt8]) throws(TokenProblem) {
        guard let fields = JSONValue.object(from: bytes) else { throw .malformed("payload is not a JSON object") }
        guard case .string(let sub)? = fields["sub"], !sub.isEmpty else {
            throw .malformed("sub must be a non-empty string")
        }
        guard let expValue = fields["exp"] else { throw .malformed("token has no exp") }
        guard let exp = expValue.seconds else { throw .malformed("exp must be a number of seconds") }
        let nbf = try Self.optionalSeconds(fields["nbf"], name: "nbf")
        let iat = try Self.optionalSeconds(fields["iat"], name: "iat")
        let kind = try Self.kind(fields["kind"])
        let peers = try Self.peers(fields["peers"])
        self.init(sub: sub, exp: exp, nbf: nbf, iat: iat, kind: kind, peers: peers)
    }

    private static func optionalSeconds(_ value: JSONValue?, name: String) throws(TokenProblem) -> Int64? {
        guard let value, value != .null else { return nil }
        guard let seconds = value.seconds else { throw .malformed("\(name) must be a number of seconds") }
        return seconds
    }

    private static func kind(_ value: JSONValue?) throws(TokenProblem) -> DeviceKind? {
        guard let value, value != .null else { return nil }
        guard case .string(let name) = value, let kind = DeviceKind(rawValue: name) else {
            throw .malformed("kind must be box, phone or service")
        }
        return kind
    }

    private static func peers(_ value: JSONValue?) throws(TokenProblem) -> [String] {
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value else { throw .malformed("peers must be a list of device ids") }
        guard items.count <= maxPeers else { throw .malformed("peers lists more than \(maxPeers) devices") }
        var peers: [String] = []
        peers.reserveCapacity(items.count)
        for item in items {
            guard case .string(let peer) = item else { throw .malformed("peers must be a list of device ids") }
            peers.append(peer)
        }
        return peers
    }
}
