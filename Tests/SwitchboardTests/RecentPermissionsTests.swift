import Switchboard
import XCTest

final class RecentPermissionsTests: XCTestCase {
    private final class Sender {}

    func testRemembersPerSenderAndRecipientBytes() {
        var recent = RecentPermissions(bits: 4)
        let a = Sender(), b = Sender()
        XCTAssertFalse(recent.allows(ObjectIdentifier(a), "box-1"))
        recent.remember(ObjectIdentifier(a), "box-1")
        XCTAssertTrue(recent.allows(ObjectIdentifier(a), "box-1"))
        XCTAssertFalse(recent.allows(ObjectIdentifier(a), "box-2"))
        XCTAssertFalse(recent.allows(ObjectIdentifier(b), "box-1"))
        // Ids are bytes: a canonically equivalent spelling is another id.
        recent.remember(ObjectIdentifier(a), "\u{212A}")
        XCTAssertFalse(recent.allows(ObjectIdentifier(a), "K"))
    }

    func testInvalidateForgetsEverything() {
        var recent = RecentPermissions(bits: 4)
        let senders = (0..<8).map { _ in Sender() }
        for sender in senders { recent.remember(ObjectIdentifier(sender), "box-1") }
        recent.invalidate()
        for sender in senders { XCTAssertFalse(recent.allows(ObjectIdentifier(sender), "box-1")) }
        recent.remember(ObjectIdentifier(senders[0]), "box-1")
        XCTAssertTrue(recent.allows(ObjectIdentifier(senders[0]), "box-1"))
    }

    func testACollisionEvictsInsteadOfConfusing() {
        var recent = RecentPermissions(bits: 1)   // two slots: many senders share them
        let senders = (0..<16).map { _ in Sender() }
        for (index, sender) in senders.enumerated() { recent.remember(ObjectIdentifier(sender), "box-\(index)") }
        for (index, sender) in senders.enumerated() {
            for other in senders.indices where other != index {
                XCTAssertFalse(recent.allows(ObjectIdentifier(sender), "box-\(other)"))
            }
        }
        XCTAssertTrue(recent.allows(ObjectIdentifier(senders[15]), "box-15"))
    }
}
