import Cluster
import Redis
import Testing
import UV

extension RedisServerSuite {
    /// Token mode's shared state in Redis: grants of connected devices, revocations, pairing
    /// codes, remote disconnects; several nodes on one loop against a real redis-server.
    @Suite struct ClusterTrustTests: FleetSuite {
        let loop = try! Loop()
        let redis = try! RedisServer()

        func grant(_ node: ClusterNode, _ device: String, _ serial: UInt64, _ peers: [String]) -> [String]? {
            var answer: [String]??
            node.publishGrant(device, serial: serial, peers: peers) { answer = $0 }
            spin(loop) { answer != nil }
            return answer ?? nil
        }

        func listing(_ node: ClusterNode, _ sender: String, _ devices: [String]) -> [Bool]? {
            var answer: [Bool]??
            node.listing(sender, in: devices) { answer = $0 }
            spin(loop) { answer != nil }
            return answer ?? nil
        }

        func code(_ node: ClusterNode, _ code: String, redeem: Bool) -> CodeLookup? {
            var answer: CodeLookup??
            node.pairingCode(code, redeem: redeem) { answer = $0 }
            spin(loop) { answer != nil }
            return answer ?? nil
        }

        @Test func aGrantIsFiledForItsHolderTellsTheOtherSideAndGoesWithTheDevice() throws {
            let (a, _) = try node()
            let (b, heardB) = try node()
            claim(b, "box", 1)
            claim(a, "phone", 1)
            #expect(grant(a, "phone", 2, ["box"]) == [])          // not the connection holding it: nothing filed
            #expect(listing(b, "phone", ["box"]) == [false])
            #expect(listing(a, "box", ["phone"]) == [false])
            #expect(grant(a, "phone", 1, ["box"]) == [])
            #expect(listing(b, "box", ["phone", "other"]) == [true, false])
            // The box's node hears that the phone lists it; the box, filing its own grant, is told who lists it.
            #expect(spin(loop) { heardB.mayHear.count == 1 })
            #expect(heardB.mayHear.first! == ("box", "phone"))
            #expect(grant(b, "box", 1, []) == ["phone"])
            var released = false
            a.release("phone", serial: 1) { _ in released = true }
            spin(loop) { released }
            #expect(listing(b, "box", ["phone"]) == [false])
            #expect(grant(b, "box", 1, []) == [])
        }

        @Test func aRevocationReachesEveryOtherNode() throws {
            let (a, heardA) = try node()
            let (b, heardB) = try node()
            let (c, heardC) = try node()
            defer { b.stop(); c.stop() }
            spin(loop, for: 0.1)
            #expect(a.revoke(box: "box", phone: "phone", until: 4_000_000_000))
            let arrived = spin(loop) { heardB.revoked.count == 1 && heardC.revoked.count == 1 }
            #expect(arrived, "B heard \(heardB.revoked), C heard \(heardC.revoked)")
            guard arrived else { return }
            #expect(heardB.revoked.first! == ("box", "phone", 4_000_000_000))
            spin(loop, for: 0.2)
            #expect(heardA.revoked.isEmpty, "the node that filed it knows")
            // A node that joins later reads it at its link up; a lapsed one is not read.
            #expect(a.revoke(box: "box", phone: "old", until: 1))
            let (late, heardLate) = try node()
            defer { late.stop() }
            #expect(spin(loop) { heardLate.revoked.count == 1 })
            spin(loop, for: 0.2)
            #expect(heardLate.revoked.map { "\($0.0)/\($0.1)/\($0.2)" } == ["box/phone/4000000000"])
        }

        @Test func aPairingCodeIsRedeemedOnceOnAnyNodeAndExpiresByRedisClock() throws {
            let (a, _) = try node()
            let (b, _) = try node()
            var filed: [Bool] = []
            a.issueCode("code-1", box: "box", seconds: 60) { filed.append($0) }
            a.issueCode("code-2", box: "box", seconds: 1) { filed.append($0) }
            #expect(spin(loop) { filed.count == 2 })
            #expect(filed == [true, true])
            #expect(code(b, "code-1", redeem: false) == .box("box"))
            #expect(code(b, "code-1", redeem: true) == .box("box"))
            #expect(code(a, "code-1", redeem: true) == .used)
            #expect(code(a, "code-1", redeem: false) == .used)
            #expect(code(b, "nope", redeem: true) == .unknown)
            spin(loop, for: 1.1)
            #expect(code(b, "code-2", redeem: true) == .expired)
        }

        @Test func anOperatorsDisconnectReachesTheHoldingNode() throws {
            let (a, _) = try node()
            let (b, heardB) = try node()
            claim(b, "box", 1)
            var held: Bool??
            a.disconnect("box", reason: "maintenance") { held = $0 }
            spin(loop) { held != nil && heardB.disconnects.count == 1 }
            #expect(held == .some(true))
            #expect(heardB.disconnects.first! == ("box", "maintenance"))
            held = nil
            a.disconnect("nobody", reason: "x") { held = $0 }
            spin(loop) { held != nil }
            #expect(held == .some(false))
        }
    }
}
