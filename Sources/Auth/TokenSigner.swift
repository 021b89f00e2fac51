/// Mints compact JWTs (HS256, ES256 or RS256), for tests, tools and a self-issuing server.
public struct TokenSigner: Sendable {
    private enum Key: Sendable {
        case secret([UInt8])
        case privateKey(PrivateKey)
    }

    private let key: Key
    private let kid: String?
    /// The algorithm this signer's tokens name in their header.
    public let algorithm: SigningAlgorithm

    /// Signs HS256 with `hmacSecret`, naming it `kid` in the header when given.
    public init(hmacSecret: [UInt8], kid: String?) {
        precondition(!hmacSecret.isEmpty, "an HS256 secret must not be empty")
        self.key = .secret(hmacSecret)
        self.kid = kid
        self.algorithm = .hs256
    }

    /// Signs ES256 with an EC P-256 or RS256 with an RSA (>= 2048 bits) private key PEM, naming it `kid` when given.
    public init(privateKeyPEM: String, kid: String?) throws(KeyProblem) {
        let privateKey = try PrivateKey(pem: privateKeyPEM)
        self.algorithm = try privateKey.algorithm()
        self.key = .privateKey(privateKey)
        self.kid = kid
    }

    /// The compact JWT `header.payload.signature` carrying `claims`.
    public func sign(_ claims: TokenClaims) -> String {
        var header = JSONWriter()
        header.add("alg", algorithm.rawValue)
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
        return signingInput + "." + Base64URL.encode(signature(over: ArraySlice(signingInput.utf8)))
    }

    private func signature(over signingInput: ArraySlice<UInt8>) -> [UInt8] {
        switch key {
        case .secret(let secret):
            return SignatureCheck.hmacSHA256(signingInput, secret: secret)
        case .privateKey(let privateKey):
            let signature = SignatureMaker.sign(signingInput, with: privateKey, algorithm: algorithm)
            // The key was checked at init, so OpenSSL fails here only when out of memory.
            guard let signature else { preconditionFailure("OpenSSL could not sign with a loaded \(algorithm.rawValue) key") }
            return signature
        }
    }
}
