import Testing
@testable import Switchboard

@Suite struct DeviceTableTests {
    @Test func slotsAreOneReferenceAndATagWide() {
        #expect(MemoryLayout<DeviceTable<FakeConnection>>.size <= 32)
        #expect(DeviceTable<FakeConnection>.slotSize == 9)
    }

    /// Random registrations, replacements and removals agree with a Dictionary at every step,
    /// through growth and through many removed slots being reused.
    @Test func agreesWithADictionaryUnderRandomChurn() {
        var generator = SystemRandomNumberGenerator()
        var table = DeviceTable<FakeConnection>()
        var model: [String: FakeConnection] = [:]
        for step in 0..<20_000 {
            let id = "d\(Int.random(in: 0..<600, using: &generator))"
            if Bool.random(using: &generator) {
                let peer = FakeConnection("\(id)#\(step)")
                peer.deviceID = id
                let replaced = table.insert(peer, for: id)
                #expect(replaced === model[id])
                replaced?.deviceID = nil
                model[id] = peer
            } else if let current = model[id] {
                current.deviceID = nil   // removal works by identity, after the id is cleared
                let removed = table.remove(current, for: id)
                #expect(removed)
                model[id] = nil
            } else {
                let removed = table.remove(FakeConnection("stranger"), for: id)
                #expect(!removed)
            }
            #expect(table.count == model.count)
            if step % 997 == 0 {
                for index in 0..<600 { #expect(table["d\(index)"] === model["d\(index)"]) }
                var seen = 0
                table.forEach { _ in seen += 1 }
                #expect(seen == model.count)
            }
        }
    }

    @Test func aReplacedPeerCannotRemoveItsSuccessor() {
        var table = DeviceTable<FakeConnection>()
        let old = FakeConnection("old"), new = FakeConnection("new")
        old.deviceID = "box"
        _ = table.insert(old, for: "box")
        new.deviceID = "box"
        let replaced = table.insert(new, for: "box")
        #expect(replaced === old)
        let removed = table.remove(old, for: "box")
        #expect(!removed)
        #expect(table["box"] === new)
    }
}
