import Auth
import XCTest

final class VerificationKeyTests: XCTestCase {
    private var fixture: Fixture!

    override func setUpWithError() throws {
        fixture = try Fixture.load()
    }

    private func loadingError(_ pem: String) -> KeyProblem? {
        do {
            _ = try VerificationKey.publicKey(pem: pem, kid: nil)
            return nil
        } catch {
            return error
        }
    }

    func testKeyTypeIsDetectedFromThePEM() throws {
        XCTAssertEqual(try VerificationKey.publicKey(pem: fixture.keys.ecPublicPem, kid: nil).algorithm, .es256)
        XCTAssertEqual(try VerificationKey.publicKey(pem: fixture.keys.rsaPublicPem, kid: "r").algorithm, .rs256)
        XCTAssertEqual(VerificationKey.hmac(secret: [1], kid: "h").algorithm, .hs256)
        XCTAssertEqual(VerificationKey.hmac(secret: [1], kid: "h").kid, "h")
    }

    func testPrivateKeyPEMIsRefusedWithAskForThePublicKey() {
        XCTAssertEqual(loadingError(fixture.keys.ecPrivatePem), .privateKeyGiven)
        XCTAssertTrue(KeyProblem.privateKeyGiven.message.contains("give the public key"))
    }

    func testRSAKeysUnder2048BitsAreRefused() {
        XCTAssertEqual(loadingError(fixture.keys.rsa1024PublicPem), .rsaKeyTooSmall(bits: 1024))
    }

    func testECKeysOtherThanP256AreRefused() {
        guard case .unsupportedCurve(let curve)? = loadingError(fixture.keys.ecP384PublicPem) else {
            return XCTFail("P-384 accepted")
        }
        XCTAssertEqual(curve, "secp384r1")
    }

    func testOtherKeyTypesAreRefused() {
        XCTAssertEqual(loadingError(fixture.keys.ed25519PublicPem), .unsupportedKeyType)
    }

    func testTextThatIsNotAPEMPublicKeyIsRefused() {
        XCTAssertEqual(loadingError(""), .notAPublicKey)
        XCTAssertEqual(loadingError("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), .notAPublicKey)
    }
}
