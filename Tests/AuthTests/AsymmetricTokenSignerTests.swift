import Auth
import Foundation
import XCTest

final class AsymmetricTokenSignerTests: XCTestCase {
    private var fixture: Fixture!
    private let claims = TokenClaims(sub: "phone-1", exp: 2_000_000_000, iat: 1_899_999_000, kind: .phone, peers: ["box-1"])

    override func setUpWithError() throws {
        fixture = try Fixture.load()
    }

    private func signingError(_ pem: String) -> KeyProblem? {
        do {
            _ = try TokenSigner(privateKeyPEM: pem, kid: nil)
            return nil
        } catch {
            return error
        }
    }

    private func header(of token: String) throws -> [String: String] {
        let part = String(token.split(separator: ".")[0])
        let padded = part + String(repeating: "=", count: (4 - part.count % 4) % 4)
        let json = try XCTUnwrap(Data(base64Encoded: padded))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: String])
    }

    private func signatureLength(of token: String) throws -> Int {
        let part = String(token.split(separator: ".")[2])
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let padded = part + String(repeating: "=", count: (4 - part.count % 4) % 4)
        return try XCTUnwrap(Data(base64Encoded: padded)).count
    }

    func testES256TokensVerifyWithTheMatchingPublicKey() throws {
        let signer = try TokenSigner(privateKeyPEM: fixture.keys.ecPrivatePem, kid: "ec-1")
        XCTAssertEqual(signer.algorithm, .es256)
        let verifier = TokenVerifier(keys: [try .publicKey(pem: fixture.keys.ecPublicPem, kid: "ec-1")])
        // ECDSA is randomised and r or s often has leading zero bytes: sign many to cover the padding.
        for round in 0..<256 {
            var roundClaims = claims
            roundClaims.sub = "phone-\(round)"
            let token = signer.sign(roundClaims)
            XCTAssertEqual(try signatureLength(of: token), 64)
            XCTAssertEqual(verifier.verify(token, now: 1_900_000_000, expectedSubject: roundClaims.sub), .success(roundClaims))
        }
    }

    func testRS256TokensVerifyWithTheMatchingPublicKey() throws {
        let signer = try TokenSigner(privateKeyPEM: fixture.keys.rsaPrivatePem, kid: "rsa-1")
        XCTAssertEqual(signer.algorithm, .rs256)
        let token = signer.sign(claims)
        XCTAssertEqual(try signatureLength(of: token), 256)
        XCTAssertEqual(try header(of: token), ["alg": "RS256", "typ": "JWT", "kid": "rsa-1"])
        let verifier = TokenVerifier(keys: [try .publicKey(pem: fixture.keys.rsaPublicPem, kid: "rsa-1")])
        XCTAssertEqual(verifier.verify(token, now: 1_900_000_000, expectedSubject: claims.sub), .success(claims))
    }

    func testRS256MatchesPyJWTByteForByte() throws {
        // PKCS#1 v1.5 is deterministic, so the same claims must give PyJWT's exact token.
        let signer = try TokenSigner(privateKeyPEM: fixture.keys.rsaPrivatePem, kid: nil)
        let token = signer.sign(TokenClaims(sub: fixture.subject, exp: fixture.farExpiry, iat: fixture.now - 60))
        XCTAssertEqual(token, try fixture.token("rs256_good"))
    }

    func testTokensDoNotVerifyWithAnotherAlgorithmsKey() throws {
        let token = try TokenSigner(privateKeyPEM: fixture.keys.ecPrivatePem, kid: nil).sign(claims)
        let verifier = TokenVerifier(keys: [try .publicKey(pem: fixture.keys.rsaPublicPem, kid: nil)])
        XCTAssertEqual(verifier.verify(token, now: 1_900_000_000, expectedSubject: nil), .failure(.unsupportedAlgorithm("ES256")))
    }

    func testPublicKeyPEMIsRefusedWithAskForThePrivateKey() {
        XCTAssertEqual(signingError(fixture.keys.ecPublicPem), .publicKeyGiven)
        XCTAssertTrue(KeyProblem.publicKeyGiven.message.contains("private key"))
    }

    func testUnsupportedPrivateKeysAreRefused() {
        XCTAssertEqual(signingError(fixture.keys.rsa1024PrivatePem), .rsaKeyTooSmall(bits: 1024))
        XCTAssertEqual(signingError(fixture.keys.ecP384PrivatePem), .unsupportedCurve("secp384r1"))
        XCTAssertEqual(signingError(fixture.keys.ed25519PrivatePem), .unsupportedKeyType)
    }

    func testTextThatIsNotAnUnencryptedPrivateKeyIsRefused() {
        XCTAssertEqual(signingError(""), .notAPrivateKey)
        XCTAssertEqual(signingError("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), .notAPrivateKey)
        // Refused rather than prompting for a passphrase.
        XCTAssertEqual(signingError(fixture.keys.ecEncryptedPrivatePem), .notAPrivateKey)
    }

    func testHMACSignerStillNamesHS256() {
        XCTAssertEqual(TokenSigner(hmacSecret: [1], kid: nil).algorithm, .hs256)
    }
}
