import Auth
import Foundation
import XCTest

final class TokenProblemTests: XCTestCase {
    private let all: [TokenProblem] = [
        .missing, .tooLarge, .malformed("x"), .unsupportedAlgorithm("none"), .unknownKey,
        .badSignature, .expired, .notYetValid, .wrongSubject,
    ]

    func testReasonsAreDistinctMetricLabels() {
        let reasons = all.map(\.reason)
        XCTAssertEqual(Set(reasons).count, all.count)
        for reason in reasons {
            XCTAssertTrue(reason.allSatisfy { $0.isLowercase || $0 == "_" }, reason)
        }
        XCTAssertEqual(TokenProblem.expired.reason, "expired")
    }

    func testMessagesNeverQuoteTheToken() throws {
        let fixture = try Fixture.load()
        let verifier = TokenVerifier(keys: try fixture.allKeys())
        for (name, token) in fixture.tokens {
            guard case .failure(let problem) = verifier.verify(token, now: fixture.now, expectedSubject: fixture.subject) else { continue }
            XCTAssertFalse(problem.message.isEmpty, name)
            for part in token.split(separator: ".") where part.count >= 8 {
                XCTAssertFalse(problem.message.contains(part), "\(name): message quotes the token")
            }
        }
    }

    func testUnsupportedAlgorithmDoesNotEchoArbitraryHeaderText() {
        let header = #"{"alg":"<script>alert(1)</script>"}"#
        let token = base64url(header) + "." + base64url("{}") + "."
        let verifier = TokenVerifier(keys: [.hmac(secret: [1, 2, 3], kid: nil)])
        guard case .failure(.unsupportedAlgorithm(let alg)) = verifier.verify(token, now: 0, expectedSubject: nil) else {
            return XCTFail("expected unsupportedAlgorithm")
        }
        XCTAssertFalse(alg.contains("<"))
    }

    private func base64url(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
