/// Verifies compact JWS tokens (HS256, ES256, RS256) and reads Tether's claims.
///
/// An `alg` is only ever checked with keys of its own type, so an HS256 token
/// cannot be verified with a public key. When no configured key has the token's
/// algorithm the answer is `unsupportedAlgorithm`; when keys of that algorithm
/// exist but none has the token's `kid`, it is `unknownKey`.
public struct TokenVerifier: Sendable {
    /// The keys tokens may be signed with; several of one type allow rotation.
    public let keys: [VerificationKey]
    /// Clock skew tolerated on exp, nbf and iat, in seconds.
    public let leewaySeconds: Int64
    /// Longer tokens are refused before any decoding.
    public let maxTokenBytes: Int

    /// Creates a verifier that trusts `keys`.
    public init(keys: [VerificationKey], leewaySeconds: Int64 = 30, maxTokenBytes: Int = 8192) {
        self.keys = keys
        self.leewaySeconds = leewaySeconds
        self.maxTokenBytes = maxTokenBytes
    }

    /// The token's claims if it is well formed, signed by a configured key, in date and for `expectedSubject`.
    public func verify(_ token: String, now: Int64, expectedSubject: String?) -> Result<TokenClaims, TokenProblem> {
        Result { () throws(TokenProblem) in try claims(of: token, now: now, expectedSubject: expectedSubject) }
    }

    private func claims(of token: String, now: Int64, expectedSubject: String?) throws(TokenProblem) -> TokenClaims {
        guard !token.isEmpty else { throw .missing }
        guard token.utf8.count <= maxTokenBytes else { throw .tooLarge }
        let bytes = Array(token.utf8)
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("a token has three dot-separated parts") }
        guard let headerJSON = Base64URL.decode(parts[0]),
              let payloadJSON = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2])
        else { throw .malformed("token parts must be unpadded base64url") }

        let header = try TokenHeader(json: headerJSON)
        let signedPart = bytes[..<parts[1].endIndex]
        try checkSignature(signature, over: signedPart, header: header)

        let claims = try TokenClaims(json: payloadJSON)
        try checkTimes(claims, now: now)
        if let expectedSubject, claims.sub != expectedSubject { throw .wrongSubject }
        return claims
    }

    private func checkSignature(_ signature: [UInt8], over signedPart: ArraySlice<UInt8>, header: TokenHeader) throws(TokenProblem) {
        let sameAlgorithm = keys.filter { $0.algorithm == header.algorithm }
        guard !sameAlgorithm.isEmpty else { throw .unsupportedAlgorithm(header.algorithm.rawValue) }
        let candidates = header.kid.map { kid in sameAlgorithm.filter { $0.kid == kid } } ?? sameAlgorithm
        guard !candidates.isEmpty else { throw .unknownKey }
        guard candidates.contains(where: { SignatureCheck.verify(signature, over: signedPart, with: $0) }) else {
            throw .badSignature
        }
    }

    private func checkTimes(_ claims: TokenClaims, now: Int64) throws(TokenProblem) {
        if now > saturatingAdd(claims.exp, leewaySeconds) { throw .expired }
        if let nbf = claims.nbf, saturatingAdd(now, leewaySeconds) < nbf { throw .notYetValid }
        if let iat = claims.iat, iat > saturatingAdd(now, leewaySeconds) { throw .notYetValid }
    }

    private func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }
}
