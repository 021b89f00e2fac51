import Auth
import XCTest

final class GrantTableTests: XCTestCase {
    private let nothingRevoked: (String, String) -> Bool = { _, _ in false }
    private var table: GrantTable!

    override func setUp() {
        table = GrantTable()
        table.setGrant(Grant(kind: .box, peers: ["phone-1"]), for: "box-1")
        table.setGrant(Grant(kind: .phone, peers: []), for: "phone-1")
        table.setGrant(Grant(kind: .phone, peers: ["box-1"]), for: "phone-2")
        table.setGrant(Grant(kind: .service, peers: []), for: "relay")
        table.setGrant(Grant(kind: .phone, peers: []), for: "stranger")
    }

    func testServiceMayMessageAnyone() {
        XCTAssertTrue(table.mayMessage(from: "relay", to: "phone-1", revoked: nothingRevoked))
        XCTAssertTrue(table.mayMessage(from: "relay", to: "not-connected", revoked: nothingRevoked))
    }

    func testListedPeerMayBeMessaged() {
        XCTAssertTrue(table.mayMessage(from: "box-1", to: "phone-1", revoked: nothingRevoked))
        XCTAssertTrue(table.mayMessage(from: "phone-2", to: "box-1", revoked: nothingRevoked))
    }

    func testRecipientListingTheSenderGrantsTheReverseDirection() {
        XCTAssertTrue(table.mayMessage(from: "phone-1", to: "box-1", revoked: nothingRevoked))
        XCTAssertTrue(table.mayMessage(from: "box-1", to: "phone-2", revoked: nothingRevoked))
    }

    func testUnlistedDevicesMayNotMessage() {
        XCTAssertFalse(table.mayMessage(from: "stranger", to: "box-1", revoked: nothingRevoked))
        XCTAssertFalse(table.mayMessage(from: "box-1", to: "stranger", revoked: nothingRevoked))
        XCTAssertFalse(table.mayMessage(from: "phone-1", to: "phone-2", revoked: nothingRevoked))
    }

    func testSenderWithoutALiveGrantMayMessageNoOne() {
        table.setGrant(Grant(kind: .box, peers: ["ghost"]), for: "box-2")
        XCTAssertFalse(table.mayMessage(from: "ghost", to: "box-2", revoked: nothingRevoked))
        XCTAssertFalse(table.mayMessage(from: "unknown", to: "relay", revoked: nothingRevoked))
    }

    func testReverseGrantEndsWhenTheRecipientDisconnects() {
        table.removeGrant(for: "box-1")
        XCTAssertFalse(table.mayMessage(from: "phone-1", to: "box-1", revoked: nothingRevoked))
        XCTAssertFalse(table.mayMessage(from: "box-1", to: "phone-1", revoked: nothingRevoked))
    }

    func testRevocationBlocksBothDirections() {
        let boxUnpairedPhone: (String, String) -> Bool = { $0 == "box-1" && $1 == "phone-1" }
        XCTAssertFalse(table.mayMessage(from: "box-1", to: "phone-1", revoked: boxUnpairedPhone))
        XCTAssertFalse(table.mayMessage(from: "phone-1", to: "box-1", revoked: boxUnpairedPhone))
        XCTAssertTrue(table.mayMessage(from: "phone-2", to: "box-1", revoked: boxUnpairedPhone))
    }

    func testRevocationBlocksEvenAService() {
        XCTAssertFalse(table.mayMessage(from: "relay", to: "phone-1", revoked: { $0 == "relay" && $1 == "phone-1" }))
    }

    func testRevocationWorksWithTheMemoryStore() {
        let store = MemoryRevocationStore()
        store.revoke(box: "box-1", phone: "phone-1", until: 100)
        let revoked: (String, String) -> Bool = { store.isRevoked(box: $0, phone: $1) }
        XCTAssertFalse(table.mayMessage(from: "phone-1", to: "box-1", revoked: revoked))
        XCTAssertTrue(table.mayMessage(from: "phone-2", to: "box-1", revoked: revoked))
    }

    func testVisiblePeersAreTheDevicesOwnList() {
        XCTAssertEqual(table.visiblePeers(of: "box-1"), ["phone-1"])
        XCTAssertEqual(table.visiblePeers(of: "phone-1"), [])
        XCTAssertEqual(table.visiblePeers(of: "unknown"), [])
    }

    func testGrantFromClaimsCarriesKindAndPeers() {
        let claims = TokenClaims(sub: "phone-3", exp: 1, kind: .phone, peers: ["box-1", "box-1", "box-2"])
        XCTAssertEqual(Grant(claims: claims), Grant(kind: .phone, peers: ["box-1", "box-2"]))
    }

    func testSetGrantReplacesTheOldOne() {
        table.setGrant(Grant(kind: .box, peers: []), for: "box-1")
        XCTAssertFalse(table.mayMessage(from: "box-1", to: "phone-1", revoked: nothingRevoked))
        XCTAssertEqual(table.count, 5)
    }
}
