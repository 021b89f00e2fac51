import Auth
import XCTest

final class TokenVerifierTests: XCTestCase {
    private var fixture: Fixture!
    private var verifier: TokenVerifier!

    override func setUpWithError() throws {
        fixture = try Fixture.load()
        verifier = TokenVerifier(keys: try fixture.allKeys())
    }

    private func verify(_ name: String, with verifier: TokenVerifier? = nil, subject: String? = nil) throws -> Result<TokenClaims, TokenProblem> {
        (verifier ?? self.verifier).verify(try fixture.token(name), now: fixture.now, expectedSubject: subject ?? fixture.subject)
    }

    private func assertRefused(_ name: String, _ problem: TokenProblem, with verifier: TokenVerifier? = nil,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try verify(name, with: verifier), .failure(problem), name, file: file, line: line)
    }

    private func assertMalformed(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard case .failure(.malformed) = try verify(name) else {
            return XCTFail("\(name) should be malformed, got \(try verify(name))", file: file, line: line)
        }
    }

    // MARK: accepted

    func testGoodTokensOfEachAlgorithmVerify() throws {
        let expected = TokenClaims(sub: fixture.subject, exp: fixture.farExpiry, iat: fixture.now - 60)
        for name in ["hs256_good", "es256_good", "rs256_good"] {
            XCTAssertEqual(try verify(name), .success(expected), name)
        }
    }

    func testExpectedSubjectNilAcceptsAnySubject() throws {
        XCTAssertEqual(try verifier.verify(fixture.token("wrong_sub"), now: fixture.now, expectedSubject: nil).map(\.sub),
                       .success("someone-else"))
    }

    func testPeersAndKindClaimsAreRead() throws {
        let expected = TokenClaims(sub: fixture.subject, exp: fixture.farExpiry, nbf: fixture.now - 10,
                                   iat: fixture.now - 10, kind: .phone, peers: ["box-1", "box-2"])
        XCTAssertEqual(try verify("peers_and_kind"), .success(expected))
    }

    func testFractionalExpIsTruncated() throws {
        XCTAssertEqual(try verify("float_exp").map(\.exp), .success(fixture.farExpiry))
    }

    func testTypIsCaseInsensitive() throws {
        XCTAssertEqual(try verify("typ_lowercase").map(\.sub), .success(fixture.subject))
    }

    // MARK: key selection and rotation

    func testKidSelectsTheNamedKeyDuringRotation() throws {
        let rotating = TokenVerifier(keys: [.hmac(secret: fixture.secret, kid: "new"), .hmac(secret: fixture.oldSecret, kid: "old")])
        XCTAssertEqual(try verify("hs256_kid_new", with: rotating).map(\.sub), .success(fixture.subject))
        XCTAssertEqual(try verify("hs256_kid_old", with: rotating).map(\.sub), .success(fixture.subject))
    }

    func testTokenWithoutKidIsTriedAgainstEveryKeyOfItsType() throws {
        let rotating = TokenVerifier(keys: [.hmac(secret: fixture.secret, kid: "new"), .hmac(secret: fixture.oldSecret, kid: "old")])
        XCTAssertEqual(try verify("hs256_old_no_kid", with: rotating).map(\.sub), .success(fixture.subject))
        XCTAssertEqual(try verify("hs256_good", with: rotating).map(\.sub), .success(fixture.subject))
    }

    func testKidPinsTheKeySoAnotherKeysSignatureFails() throws {
        let rotating = TokenVerifier(keys: [.hmac(secret: fixture.secret, kid: "new"), .hmac(secret: fixture.oldSecret, kid: "old")])
        try assertRefused("hs256_kid_new_signed_by_old", .badSignature, with: rotating)
    }

    func testUnknownKidIsRefused() throws {
        try assertRefused("unknown_kid", .unknownKey)
    }

    func testKidOnAPublicKeySelectsIt() throws {
        let named = TokenVerifier(keys: [try .publicKey(pem: fixture.keys.ecPublicPem, kid: "ec-1")])
        XCTAssertEqual(try verify("es256_kid", with: named).map(\.sub), .success(fixture.subject))
    }

    func testRotatedOutKeyNoLongerVerifies() throws {
        let newOnly = TokenVerifier(keys: [.hmac(secret: fixture.secret, kid: "new")])
        try assertRefused("hs256_old_no_kid", .badSignature, with: newOnly)
    }

    // MARK: algorithms

    func testAlgNoneIsRefused() throws {
        try assertRefused("alg_none", .unsupportedAlgorithm("none"))
    }

    func testHS256SignedWithThePublicKeyPEMIsNeverCheckedWithThePublicKey() throws {
        let publicOnly = TokenVerifier(keys: [try .publicKey(pem: fixture.keys.ecPublicPem, kid: nil)])
        try assertRefused("alg_confusion", .unsupportedAlgorithm("HS256"), with: publicOnly)
        try assertRefused("alg_confusion", .badSignature)
    }

    func testConfusionTokenIsGenuinelySignedWithThePEMBytes() throws {
        // Proves the fixture would fool a verifier that used the PEM as an HMAC secret.
        let pemAsSecret = TokenVerifier(keys: [.hmac(secret: Array(fixture.keys.ecPublicPem.utf8), kid: nil)])
        XCTAssertEqual(try verify("alg_confusion", with: pemAsSecret).map(\.sub), .success(fixture.subject))
    }

    func testAlgorithmWithoutAConfiguredKeyOfItsTypeIsUnsupported() throws {
        let hmacOnly = TokenVerifier(keys: [.hmac(secret: fixture.secret, kid: nil)])
        try assertRefused("es256_good", .unsupportedAlgorithm("ES256"), with: hmacOnly)
        try assertRefused("rs256_good", .unsupportedAlgorithm("RS256"), with: hmacOnly)
    }

    func testES256TokenIsNotCheckedWithTheRSAKey() throws {
        let rsaOnly = TokenVerifier(keys: [try .publicKey(pem: fixture.keys.rsaPublicPem, kid: nil)])
        try assertRefused("es256_good", .unsupportedAlgorithm("ES256"), with: rsaOnly)
    }

    func testEmptyHMACSecretVerifiesNothing() throws {
        let empty = TokenVerifier(keys: [.hmac(secret: [], kid: nil)])
        try assertRefused("hs256_good", .badSignature, with: empty)
    }

    // MARK: signatures

    func testFlippedSignatureCharacterIsABadSignatureForEveryAlgorithm() throws {
        for name in ["bad_signature", "es256_bad_signature", "rs256_bad_signature"] {
            try assertRefused(name, .badSignature)
        }
    }

    func testES256SignatureMustBe64Bytes() throws {
        try assertRefused("es256_65_byte_signature", .badSignature)
    }

    func testHS256SignatureMustBe32Bytes() throws {
        let token = try fixture.token("hs256_good")
        let truncated = String(token.dropLast(3))
        XCTAssertEqual(verifier.verify(truncated, now: fixture.now, expectedSubject: nil), .failure(.badSignature))
    }

    func testSignatureCoversTheHeaderAndPayload() throws {
        let good = try fixture.token("hs256_good").split(separator: ".")
        let other = try fixture.token("wrong_sub").split(separator: ".")
        let spliced = [good[0], other[1], good[2]].joined(separator: ".")
        XCTAssertEqual(verifier.verify(spliced, now: fixture.now, expectedSubject: nil), .failure(.badSignature))
    }

    // MARK: time

    func testExpiredBeyondLeewayIsRefused() throws {
        try assertRefused("expired", .expired)
    }

    func testExpiredWithinLeewayIsAccepted() throws {
        XCTAssertEqual(try verify("within_leeway").map(\.exp), .success(fixture.now - 29))
    }

    func testZeroLeewayRefusesAJustExpiredToken() throws {
        let strict = TokenVerifier(keys: try fixture.allKeys(), leewaySeconds: 0)
        try assertRefused("within_leeway", .expired, with: strict)
    }

    func testNotBeforeBeyondLeewayIsRefused() throws {
        try assertRefused("not_yet_valid", .notYetValid)
    }

    func testNotBeforeWithinLeewayIsAccepted() throws {
        XCTAssertEqual(try verify("nbf_within_leeway").map(\.nbf), .success(fixture.now + 29))
    }

    func testIssuedInTheFutureIsRefused() throws {
        try assertRefused("iat_in_future", .notYetValid)
    }

    // MARK: subject

    func testWrongSubjectIsRefused() throws {
        try assertRefused("wrong_sub", .wrongSubject)
    }

    // MARK: shape

    func testEmptyTokenIsMissing() {
        XCTAssertEqual(verifier.verify("", now: 0, expectedSubject: nil), .failure(.missing))
    }

    func testTokenOverTheSizeLimitIsRefusedBeforeDecoding() throws {
        try assertRefused("too_large", .tooLarge)
        let tiny = TokenVerifier(keys: try fixture.allKeys(), maxTokenBytes: 16)
        XCTAssertEqual(tiny.verify(String(repeating: "*", count: 17), now: 0, expectedSubject: nil), .failure(.tooLarge))
    }

    func testTokenMustHaveExactlyThreeParts() throws {
        let token = try fixture.token("hs256_good")
        let parts = token.split(separator: ".")
        for shape in [String(parts[0]), parts[0] + "." + parts[1], token + ".", token + "." + parts[2]] {
            guard case .failure(.malformed) = verifier.verify(shape, now: fixture.now, expectedSubject: nil) else {
                return XCTFail("\(shape.split(separator: ".", omittingEmptySubsequences: false).count) parts accepted")
            }
        }
    }

    func testCharactersOutsideBase64URLAreMalformed() throws {
        try assertMalformed("bad_base64")
    }

    func testPaddedBase64IsMalformed() throws {
        try assertMalformed("padded_base64")
    }

    func testHeaderAndPayloadMustBeJSONObjects() throws {
        XCTAssertEqual(try verify("header_not_json"), .failure(.malformed("header is not a JSON object")))
        XCTAssertEqual(try verify("payload_not_json"), .failure(.malformed("payload is not a JSON object")))
        XCTAssertEqual(try verify("payload_is_array"), .failure(.malformed("payload is not a JSON object")))
    }

    func testTypOtherThanJWTIsMalformed() throws {
        try assertMalformed("typ_other")
    }

    func testCritHeaderIsRefused() throws {
        try assertMalformed("crit_header")
    }

    func testClaimsMustBeWellTyped() throws {
        for name in ["missing_exp", "string_exp", "empty_sub", "unknown_kind", "peers_not_strings"] {
            try assertMalformed(name)
        }
    }

    func testMoreThan1000PeersIsMalformed() throws {
        let roomy = TokenVerifier(keys: try fixture.allKeys(), maxTokenBytes: 65536)
        XCTAssertEqual(try verify("too_many_peers", with: roomy), .failure(.malformed("peers lists more than 1000 devices")))
    }

    func testServiceKindIsRead() throws {
        XCTAssertEqual(try verify("service_kind", subject: "relay").map(\.kind), .success(.service))
    }
}
