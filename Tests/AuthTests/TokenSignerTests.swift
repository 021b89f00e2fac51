import Auth
import Foundation
import XCTest

final class TokenSignerTests: XCTestCase {
    private let secret: [UInt8] = Array("a shared secret of thirty-two b.".utf8)

    func testSignedTokensVerifyWithAllClaimsIntact() {
        let claims = TokenClaims(sub: "phone-\"7\"\\é", exp: 2_000_000_000, nbf: 1_899_999_000, iat: 1_899_999_000,
                                 kind: .phone, peers: ["box-1", "box/2"])
        let token = TokenSigner(hmacSecret: secret, kid: "k1").sign(claims)
        let verifier = TokenVerifier(keys: [.hmac(secret: secret, kid: "k1")])
        XCTAssertEqual(verifier.verify(token, now: 1_900_000_000, expectedSubject: claims.sub), .success(claims))
    }

    func testMinimalClaimsRoundTrip() {
        let claims = TokenClaims(sub: "box-1", exp: 2_000_000_000)
        let token = TokenSigner(hmacSecret: secret, kid: nil).sign(claims)
        let verifier = TokenVerifier(keys: [.hmac(secret: secret, kid: nil)])
        XCTAssertEqual(verifier.verify(token, now: 1_900_000_000, expectedSubject: "box-1"), .success(claims))
    }

    func testOutputIsUnpaddedBase64URLWithAStandardHeader() throws {
        let token = TokenSigner(hmacSecret: secret, kid: "k1").sign(TokenClaims(sub: "box-1", exp: 1))
        XCTAssertTrue(token.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) })
        let header = try XCTUnwrap(Data(base64Encoded: String(token.split(separator: ".")[0]) + "="))
        let fields = try XCTUnwrap(JSONSerialization.jsonObject(with: header) as? [String: String])
        XCTAssertEqual(fields, ["alg": "HS256", "typ": "JWT", "kid": "k1"])
    }

    func testOtherSecretDoesNotVerify() {
        let token = TokenSigner(hmacSecret: secret, kid: nil).sign(TokenClaims(sub: "box-1", exp: 2_000_000_000))
        let verifier = TokenVerifier(keys: [.hmac(secret: Array("another secret".utf8), kid: nil)])
        XCTAssertEqual(verifier.verify(token, now: 1_900_000_000, expectedSubject: nil), .failure(.badSignature))
    }
}
