import Auth
import XCTest

final class PairingCodesTests: XCTestCase {
    private var codes = PairingCodes()

    func testCodeWorksExactlyOnce() {
        let code = codes.issue(box: "box-1", now: 100, ttlSeconds: 60)
        XCTAssertEqual(codes.redeem(code, now: 110), .success("box-1"))
        XCTAssertEqual(codes.redeem(code, now: 111), .failure(.used))
    }

    func testUsedCodeIsRememberedUntilExpiryThenUnknownAfterPruning() {
        let code = codes.issue(box: "box-1", now: 100, ttlSeconds: 60)
        _ = codes.redeem(code, now: 110)
        codes.prune(now: 159)
        XCTAssertEqual(codes.redeem(code, now: 159), .failure(.used))
        codes.prune(now: 160)
        XCTAssertEqual(codes.redeem(code, now: 160), .failure(.unknown))
    }

    func testCodeExpiresAfterItsTTL() {
        let code = codes.issue(box: "box-1", now: 100, ttlSeconds: 60)
        XCTAssertEqual(codes.redeem(code, now: 160), .failure(.expired))
    }

    func testExpiredCodeIsUnknownAfterPruning() {
        let code = codes.issue(box: "box-1", now: 100, ttlSeconds: 60)
        codes.prune(now: 160)
        XCTAssertEqual(codes.count, 0)
        XCTAssertEqual(codes.redeem(code, now: 160), .failure(.unknown))
    }

    func testPruneKeepsLiveCodes() {
        let code = codes.issue(box: "box-1", now: 100, ttlSeconds: 60)
        codes.prune(now: 159)
        XCTAssertEqual(codes.redeem(code, now: 159), .success("box-1"))
    }

    func testNeverIssuedCodeIsUnknown() {
        XCTAssertEqual(codes.redeem("AAAAAAAAAAAAAAAAAAAAAA", now: 0), .failure(.unknown))
        XCTAssertEqual(codes.redeem("", now: 0), .failure(.unknown))
    }

    func testCodesAreAtLeast22URLSafeCharacters() {
        let code = codes.issue(box: "box-1", now: 0, ttlSeconds: 60)
        XCTAssertGreaterThanOrEqual(code.count, 22)
        XCTAssertTrue(code.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") })
    }

    func testTwoCodesDiffer() {
        XCTAssertNotEqual(codes.issue(box: "box-1", now: 0, ttlSeconds: 60), codes.issue(box: "box-1", now: 0, ttlSeconds: 60))
    }

    func testCodeEncodesTheInjectedRandomness() {
        let code = codes.issue(box: "box-1", now: 0, ttlSeconds: 60, random: { [UInt8](repeating: 0xFF, count: 16) })
        XCTAssertEqual(code, "_____________________w")
    }

    func testIssuingPastThePerBoxCapDropsThatBoxesOldest() {
        var capped = PairingCodes(maxPerBox: 3)
        let first = capped.issue(box: "box-1", now: 0, ttlSeconds: 60)
        let rest = (0..<3).map { _ in capped.issue(box: "box-1", now: 0, ttlSeconds: 60) }
        let otherBox = capped.issue(box: "box-2", now: 0, ttlSeconds: 60)
        XCTAssertEqual(capped.redeem(first, now: 1), .failure(.unknown))
        for code in rest { XCTAssertEqual(capped.redeem(code, now: 1), .success("box-1")) }
        XCTAssertEqual(capped.redeem(otherBox, now: 1), .success("box-2"))
    }

    func testRedeemedCodesDoNotCountAgainstThePerBoxCap() {
        var capped = PairingCodes(maxPerBox: 2)
        let used = capped.issue(box: "box-1", now: 0, ttlSeconds: 60)
        _ = capped.redeem(used, now: 1)
        let a = capped.issue(box: "box-1", now: 0, ttlSeconds: 60)
        let b = capped.issue(box: "box-1", now: 0, ttlSeconds: 60)
        XCTAssertEqual(capped.redeem(a, now: 1), .success("box-1"))
        XCTAssertEqual(capped.redeem(b, now: 1), .success("box-1"))
    }

    func testIssuingPastTheTotalCapDropsTheOldestCode() {
        var capped = PairingCodes(maxPerBox: 16, maxTotal: 5)
        let issued = (0..<8).map { capped.issue(box: "box-\($0)", now: Int64($0), ttlSeconds: 60) }
        XCTAssertEqual(capped.count, 5)
        for code in issued.prefix(3) { XCTAssertEqual(capped.redeem(code, now: 10), .failure(.unknown)) }
        for (index, code) in issued.enumerated().dropFirst(3) { XCTAssertEqual(capped.redeem(code, now: 10), .success("box-\(index)")) }
    }

    func testMemoryStaysBoundedUnderChurn() {
        var capped = PairingCodes(maxPerBox: 4, maxTotal: 50)
        for round in 0..<10_000 { _ = capped.issue(box: "box-\(round % 7)", now: 0, ttlSeconds: 60) }
        XCTAssertLessThanOrEqual(capped.count, 28)
    }

    func testSecureRandomGivesTheRequestedCountAndVaries() {
        XCTAssertEqual(PairingCodes.secureRandom(16).count, 16)
        XCTAssertNotEqual(PairingCodes.secureRandom(16), PairingCodes.secureRandom(16))
    }

    func testProblemsHavePlainMessages() {
        for problem in [CodeProblem.unknown, .used, .expired] {
            XCTAssertTrue(problem.message.contains("pairing code"))
            XCTAssertEqual(problem.reason, "\(problem)")
        }
    }
}

final class PairingCodeLookupTests: XCTestCase {
    private var codes = PairingCodes()

    func testLiveCodeNamesItsBoxWithoutBeingRedeemed() {
        let code = codes.issue(box: "box-1", now: 100, ttlSeconds: 60)
        XCTAssertEqual(codes.box(for: code, now: 110), "box-1")
        XCTAssertEqual(codes.box(for: code, now: 110), "box-1")
        XCTAssertEqual(codes.redeem(code, now: 111), .success("box-1"))
    }

    func testUsedExpiredAndUnknownCodesHaveNoBox() {
        let used = codes.issue(box: "box-1", now: 100, ttlSeconds: 60)
        let expiring = codes.issue(box: "box-2", now: 100, ttlSeconds: 60)
        _ = codes.redeem(used, now: 110)
        XCTAssertNil(codes.box(for: used, now: 110))
        XCTAssertEqual(codes.box(for: expiring, now: 159), "box-2")
        XCTAssertNil(codes.box(for: expiring, now: 160))
        XCTAssertNil(codes.box(for: "AAAAAAAAAAAAAAAAAAAAAA", now: 110))
        XCTAssertNil(codes.box(for: String(repeating: "A", count: 65), now: 110))
    }
}
