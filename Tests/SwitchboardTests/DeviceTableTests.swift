import Testing
@testable import Switchboard

@Suite struct DeviceTableTests {
    @Test func slotsAreAReferenceAndATag() {
        #expect(MemoryLayout<DeviceTable<FakeConnection>>.size <= 32)
        #expect(DeviceTable<FakeConnection>.slotSize == 16)
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

@Suite struct DeviceTableTagTests {
    /// Two ids whose hashes agree in the 32 bits a slot keeps: the same tag and the same home
    /// slot, so only comparing ids tells them apart. Found by a birthday search (about 80,000
    /// ids on average under the process's random key).
    private func idsSharingATag() -> (String, String) {
        var seen: [UInt32: String] = [:]
        for index in 0..<4_000_000 {
            var id = "device-\(index)"
            let tag = UInt32(truncatingIfNeeded: id.withUTF8 { IDHasher.shared.hash(UnsafeRawBufferPointer($0)) })
            if let other = seen[tag] { return (other, id) }
            seen[tag] = id
        }
        preconditionFailure("no two of 4,000,000 ids share 32 bits of hash")
    }

    @Test func idsWithOneTagAreToldApartByTheirBytes() {
        let (first, second) = idsSharingATag()
        var table = DeviceTable<FakeConnection>()
        let a = FakeConnection("a"), b = FakeConnection("b")
        a.deviceID = first
        b.deviceID = second
        let replacedByA = table.insert(a, for: first)
        let replacedByB = table.insert(b, for: second)   // a new entry, not a replacement of a
        #expect(replacedByA == nil && replacedByB == nil)
        #expect(table[first] === a)
        #expect(table[second] === b)
        let replacement = FakeConnection("a2")
        replacement.deviceID = first
        let replaced = table.insert(replacement, for: first)
        #expect(replaced === a)
        #expect(table[second] === b)
        let removed = table.remove(b, for: second)
        #expect(removed)
        #expect(table[first] === replacement)
        #expect(table[second] == nil)
        #expect(table.count == 1)
    }
}
