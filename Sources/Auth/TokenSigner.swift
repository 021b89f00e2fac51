/// Mints compact HS256 tokens, for tests, tools and a self-issuing server.
public struct TokenSigner: Sendable {
    private let secret: [UInt8]
    private let kid: String?

    /// Signs with `hmacSecret`, naming it `kid` in the header when given.
    public init(hmacSecret: [UInt8], kid: String?) {
        precondition(!hmacSecret.isEmpty, "an HS256 secret must not be empty")
        self.secret = hmacSecret
        self.kid = kid
    }

    /// The compact JWT `header.payload.signature` carrying `claims`.
    public func sign(_ claims: TokenClaims) -> String {
        var header = JSONWriter()
        header.add("alg", SigningAlgorithm.hs256.rawValue)
        header.add("typ", "JWT")
        if let kid { header.add("kid", kid) }

        var payload = JSONWriter()
        payload.add("sub", claims.sub)
        payload.add("exp", claims.exp)
        if let iat = claims.iat { payload.add("iat", iat) }
        if let nbf = claims.nbf { payload.add("nbf", nbf) }
        if let kind = claims.kind { payload.add("kind", kind.rawValue) }
        if !claims.peers.isEmpty { payload.add("peers", claims.peers) }

        let signingInput = Base64URL.encode(Array(header.finished().utf8)) + "." + Base64URL.encode(Array(payload.finished().utf8))
        let signature = SignatureCheck.hmacSHA256(ArraySlice(signingInput.utf8), secret: secret)
        return signingInput + "." + Base64URL.encode(signature)
    }
}
