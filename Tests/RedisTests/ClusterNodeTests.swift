import Cluster
import Redis
import Testing
import UV

/// What a node's server was told, in order.
final class RecordingServer: ClusterDelegate {
    var delivered: [(device: String, payload: [UInt8], from: String)] = []
    var presence: [(String, Bool)] = []
    var replaced: [(String, UInt64)] = []
    var answers: [(String, [UInt8])] = []
    var held: [(device: String, serial: UInt64)] = []
    var watched: [String] = []
    var checked: [(String, Bool)] = []
    var keptFor: [String] = []
    var mayHear: [(String, String)] = []
    var revoked: [(String, String, Int64)] = []
    var disconnects: [(String, String)] = []
    var routed: [(RouteOutcome, String, [UInt8]?)] = []

    func cluster(deliver payload: UnsafeRawBufferPointer, to device: String, from senderDevice: String, senderNode: String) {
        delivered.append((device, Array(payload), senderDevice))
    }
    func cluster(routed outcome: RouteOutcome, to device: String, sender: AnyObject, idJSON: [UInt8]?) {
        routed.append((outcome, device, idJSON))
    }
    func cluster(presenceOf device: String, online: Bool) { presence.append((device, online)) }
    func cluster(replaced device: String, serial: UInt64) { replaced.append((device, serial)) }
    func cluster(answer reply: [UInt8], to device: String) { answers.append((device, reply)) }
    func cluster(available: Bool) {}
    func clusterLocalDevices() -> [(device: String, serial: UInt64)] { held }
    func clusterWatchedDevices() -> [String] { watched }
    func cluster(claimTaken device: String, serial: UInt64) { replaced.append((device, serial)) }
    func cluster(checked device: String, online: Bool, when: WatchCheck) { checked.append((device, online)) }
    func cluster(keptFor device: String) { keptFor.append(device) }
    func cluster(_ device: String, mayHear lister: String) { mayHear.append((device, lister)) }
    func cluster(revoked box: String, phone: String, until: Int64) { revoked.append((box, phone, until)) }
    func cluster(lifted box: String, phone: String) {}
    func cluster(disconnect device: String, reason: String) { disconnects.append((device, reason)) }
    func clusterGrant(of device: String) -> [String]? { nil }
}

extension RedisServerSuite {
    /// The registry's rules, with several nodes on one loop against a real redis-server.
    @Suite struct ClusterNodeTests: FleetSuite {
        let loop = try! Loop()
        let redis = try! RedisServer()

        func release(_ node: ClusterNode, _ device: String, _ serial: UInt64) -> ReleaseOutcome? {
            var outcome: ReleaseOutcome?
            node.release(device, serial: serial) { outcome = $0 }
            spin(loop) { outcome != nil }
            return outcome
        }

        @Test func aReplaceAcrossNodesClosesTheOldConnectionAndAnnouncesNothing() throws {
            let (a, serverA) = try node()
            let (b, _) = try node()
            let (watcher, heard) = try node()
            watcher.watch("box-1")
            spin(loop) { heard.checked.count == 1 }
            #expect(claim(a, "box-1", 7) == .cameOnline)
            #expect(spin(loop) { heard.presence.count == 1 })
            #expect(claim(b, "box-1", 3) == .wasOnline)
            #expect(spin(loop) { serverA.replaced.count == 1 })
            #expect(serverA.replaced.first! == ("box-1", 7))
            // The replaced connection's release changes nothing; the holder's announces offline once.
            #expect(release(a, "box-1", 7) == .notHeld)
            #expect(release(b, "box-1", 3) == .wentOffline)
            spin(loop, for: 0.3)
            #expect(heard.presence.map { "\($0.0):\($0.1)" } == ["box-1:true", "box-1:false"])
        }

        @Test func messagesReachTheHolderInOrderByteForByte() throws {
            let (a, serverA) = try node()
            let (b, _) = try node()
            #expect(claim(a, "box-1", 1) == .cameOnline)
            var outcomes: [RouteOutcome] = []
            for number in 0..<200 {
                let payload = Array("{\"from\":\"ph-1\",\"to\":\"box-1\",\"msg\":\(number)}".utf8)
                payload.withUnsafeBytes { b.route($0, to: "box-1", from: "ph-1") { outcomes.append($0) } }
            }
            var offline: RouteOutcome?
            Array("x".utf8).withUnsafeBytes { b.route($0, to: "nobody", from: "ph-1") { offline = $0 } }
            // The holder may read the entry before the sender reads Redis' answer to its XADD: wait for both.
            #expect(spin(loop) { serverA.delivered.count == 200 && outcomes.count == 200 && offline != nil })
            #expect(outcomes == Array(repeating: .queued, count: 200))
            #expect(offline == .offline)
            #expect(serverA.delivered.map { String(decoding: $0.payload, as: UTF8.self) }
                    == (0..<200).map { "{\"from\":\"ph-1\",\"to\":\"box-1\",\"msg\":\($0)}" })
            #expect(serverA.delivered.allSatisfy { $0.from == "ph-1" && $0.device == "box-1" })
        }

        @Test func aSendersMessagesNotQueuedAreToldToTheDelegateWithTheirIDs() throws {
            let (a, serverA) = try node()
            let (b, serverB) = try node()
            #expect(claim(a, "box-1", 1) == .cameOnline)
            let sender = RecordingServer()   // any object standing for the sending connection
            let id = Array("\"7\"".utf8)
            for (device, number) in [("box-1", 1), ("nobody", 2), ("box-1", 3), ("nobody-2", 4)] {
                Array("m\(number)".utf8).withUnsafeBytes {
                    b.route($0, to: device, from: "ph-1", keep: nil, checkGrant: false, sender: sender, idJSON: number == 4 ? id : nil)
                }
            }
            #expect(spin(loop) { serverA.delivered.count == 2 && serverB.routed.count == 2 })
            #expect(serverA.delivered.map { String(decoding: $0.payload, as: UTF8.self) } == ["m1", "m3"])
            #expect(serverB.routed.map(\.0) == [.offline, .offline])
            #expect(serverB.routed.map(\.1) == ["nobody", "nobody-2"])
            #expect(serverB.routed.map(\.2) == [nil, id])
        }

        /// 200 messages in one loop iteration are located first, then appended by plain XADDs.
        @Test func aBigBatchGoesToEachHolderInOrderAndAnswersTheRestAsOneCallWould() throws {
            let (a, serverA) = try node()
            let (c, serverC) = try node()
            let (b, _) = try node()
            #expect(claim(a, "box-a", 1) == .cameOnline)
            #expect(claim(c, "box-c", 1) == .cameOnline)
            var granted: [String]??
            c.publishGrant("box-c", serial: 1, peers: ["ph-1"]) { granted = $0 }
            spin(loop) { granted != nil }
            var outcomes: [String: [RouteOutcome]] = [:]
            for number in 0..<200 {
                let (device, checkGrant, keep): (String, Bool, KeepRequest?) = switch number % 5 {
                case 0: ("box-a", false, nil)
                case 1: ("box-c", true, nil)                                   // its grant lists ph-1
                case 2: ("box-a", true, nil)                                   // box-a has no grant: refused
                case 3: ("nobody", false, KeepRequest(seconds: 60, idJSON: nil))
                default: ("nobody", false, nil)
                }
                Array("m\(number)".utf8).withUnsafeBytes {
                    b.route($0, to: device, from: "ph-1", keep: keep, checkGrant: checkGrant) { outcomes["\(number % 5)", default: []].append($0) }
                }
            }
            #expect(spin(loop) { outcomes.values.reduce(0) { $0 + $1.count } == 200 })
            #expect(outcomes["0"] == Array(repeating: .queued, count: 40))
            #expect(outcomes["1"] == Array(repeating: .queued, count: 40))
            #expect(outcomes["2"] == Array(repeating: .forbidden, count: 40))
            #expect(outcomes["3"] == Array(repeating: .kept(.kept), count: 40))
            #expect(outcomes["4"] == Array(repeating: .offline, count: 40))
            #expect(spin(loop) { serverA.delivered.count == 40 && serverC.delivered.count == 40 })
            #expect(serverA.delivered.map { String(decoding: $0.payload, as: UTF8.self) } == stride(from: 0, to: 200, by: 5).map { "m\($0)" })
            #expect(serverC.delivered.map { String(decoding: $0.payload, as: UTF8.self) } == stride(from: 1, to: 200, by: 5).map { "m\($0)" })
        }

        @Test func aFullInboxMakesSendersWait() throws {
            let (a, _) = try node()
            let (b, _) = try node(inboxMax: 1)   // the sender's cap: every node runs with the same
            #expect(claim(a, "box-1", 1) == .cameOnline)
            // The holder stops reading: its inbox fills.
            a.stop()
            var outcomes: [RouteOutcome] = []
            // One loop iteration's messages to one node make one entry; the next iteration's find it unread.
            for expected in 1...3 {
                Array("m".utf8).withUnsafeBytes { b.route($0, to: "box-1", from: "ph-1") { outcomes.append($0) } }
                spin(loop) { outcomes.count == expected }
            }
            #expect(outcomes == [.queued, .busy, .busy])
        }

        @Test func aDeadNodesDevicesGoOfflineOnceUnlessTheyCameBackElsewhere() throws {
            let (dead, _) = try node(lease: 300)
            let (survivor, _) = try node(lease: 300)
            let (watcher, heard) = try node(lease: 300)
            for device in ["box-1", "box-2"] { watcher.watch(device) }
            spin(loop) { heard.checked.count == 2 }
            #expect(claim(dead, "box-1", 1) == .cameOnline)
            #expect(claim(dead, "box-2", 2) == .cameOnline)
            spin(loop) { heard.presence.count == 2 }
            dead.stop()   // no release: as kill -9
            #expect(claim(survivor, "box-2", 5) == .wasOnline)   // box-2 reconnected elsewhere in time
            #expect(spin(loop, seconds: 5) { heard.presence.count == 3 })
            spin(loop, for: 1)
            #expect(heard.presence.map { "\($0.0):\($0.1)" } == ["box-1:true", "box-2:true", "box-1:false"])
            #expect(survivor.nodesReaped + watcher.nodesReaped == 1)
            var states: [Bool]?
            watcher.lookup(["box-1", "box-2"]) { states = $0 }
            spin(loop) { states != nil }
            #expect(states == [false, true])
        }

        @Test func afterRedisLostItsDataTheNodeClaimsAgain() throws {
            let (a, serverA) = try node(lease: 500)
            #expect(claim(a, "box-1", 4) == .cameOnline)
            serverA.held = [("box-1", 4)]
            redis.stop()
            try redis.start()
            var states: [Bool]?
            #expect(spin(loop, seconds: 10) {
                if states == nil && a.isAvailable { a.lookup(["box-1"]) { states = $0 } }
                if states == [false] { states = nil }   // not restored yet: ask again
                return states == [true]
            })
        }
    }
}

extension RedisServerSuite.ClusterNodeTests {
    @Test func theFleetListsEveryNodeWithItsDevicesAndLease() throws {
        // a sweeps every 2 s (a fifth of its lease): b, whose lease is 300 ms, shows as gone in between.
        let (a, _) = try node(lease: 10_000)
        let (b, _) = try node(lease: 300)
        #expect(claim(a, "box-1", 1) == .cameOnline)
        #expect(claim(a, "box-2", 2) == .cameOnline)
        b.stop()
        var nodes: [FleetNode]?
        #expect(spin(loop, seconds: 5) {
            if nodes == nil { a.fleet { nodes = $0 } }
            if let list = nodes, list.first(where: { $0.id == b.nodeID })?.isUp != false { nodes = nil }
            return nodes != nil
        })
        let mine = try #require(nodes?.first { $0.id == a.nodeID })
        #expect(mine.devices == 2 && mine.isUp && mine.address == "test")
        #expect(nodes?.first { $0.id == b.nodeID }?.isUp == false)
    }
}
