import Cluster
import Redis
import Storage
import Testing
import UV

extension RedisServerSuite {
    /// Kept messages in the fleet's Redis: kept only while the recipient is on no node, taken
    /// once, in order, within bounds, expired by Redis' clock; against a real redis-server.
    @Suite struct ClusterKeptStoreTests: FleetSuite {
        let loop = try! Loop()
        let redis = try! RedisServer()

        func keptNode(limits: KeptLimits = KeptLimits()) throws -> (ClusterNode, ClusterKeptStore, RecordingServer) {
            let (node, server) = try node(limits: limits)
            return (node, ClusterKeptStore(node: node), server)
        }

        /// Routes `text` from `sender` to `device` asking to keep it `seconds`.
        func send(_ node: ClusterNode, _ text: String, to device: String, from sender: String = "phone",
                  seconds: Int = 60, id: String? = nil) -> RouteOutcome? {
            var outcome: RouteOutcome?
            Array(text.utf8).withUnsafeBytes {
                node.route($0, to: device, from: sender, keep: KeepRequest(seconds: seconds, idJSON: id.map { Array($0.utf8) })) { outcome = $0 }
            }
            spin(loop) { outcome != nil }
            return outcome
        }

        func take(_ store: ClusterKeptStore, _ device: String) -> [KeptMessage] {
            var taken: [KeptMessage]?
            store.take(for: device, now: 0) { taken = $0 }
            spin(loop) { taken != nil }
            return taken ?? []
        }

        @Test func aMessageToADeviceOnNoNodeIsKeptAndTakenOnceInOrderUnchanged() throws {
            let (a, _, _) = try keptNode()
            let (b, storeB, _) = try keptNode()
            let texts = (0..<5).map { #"{"from":"phone","to":"box","msg":"\#($0)","x":"é\u0000"}"# }
            for (index, text) in texts.enumerated() {
                #expect(send(a, text, to: "box", id: "\"m\(index)\"") == .kept(.kept))
            }
            #expect(!storeB.mayHold("box"))
            #expect(claim(b, "box", 1) == .cameOnline)
            #expect(storeB.mayHold("box"))   // the claim said something is kept
            let taken = take(storeB, "box")
            #expect(taken.map { String(decoding: $0.payload, as: UTF8.self) } == texts)
            #expect(taken.map(\.sender) == Array(repeating: "phone", count: 5))
            #expect(taken.map { $0.idJSON.map { String(decoding: $0, as: UTF8.self) } } == (0..<5).map { "\"m\($0)\"" })
            #expect(taken.map(\.sequence) == taken.map(\.sequence).sorted())
            #expect(take(storeB, "box").isEmpty)
            // Once the device is on a node, a message with a ttl goes to that node instead.
            #expect(send(a, "{}", to: "box") == .queued)
        }

        @Test func theBoundsRefuseWhatWouldPassThem() throws {
            let (a, store, _) = try keptNode(limits: KeptLimits(messagesPerRecipient: 2, bytesPerRecipient: 10, totalBytes: 15))
            #expect(send(a, "12345", to: "r1") == .kept(.kept))
            #expect(send(a, "1234", to: "r1") == .kept(.kept))
            #expect(send(a, "1", to: "r1") == .kept(.refused(.recipientMessages)))
            #expect(send(a, "12345678901", to: "r2") == .kept(.refused(.recipientBytes)))
            #expect(send(a, "1234", to: "r2") == .kept(.kept))
            #expect(send(a, "123", to: "r3") == .kept(.refused(.totalBytes)))
            #expect(take(store, "r1").count == 2)
            #expect(send(a, "123", to: "r3") == .kept(.kept))   // taking gave the bytes back
        }

        @Test func aPromisedMessageComesBackAtItsPlaceAndTheHolderIsTold() throws {
            let (a, storeA, _) = try keptNode()
            let (b, _, serverB) = try keptNode()
            for text in ["one", "two", "three"] { #expect(send(a, text, to: "box") == .kept(.kept)) }
            var taken = take(storeA, "box")
            #expect(send(a, "four", to: "box") == .kept(.kept))
            #expect(claim(b, "box", 1) == .cameOnline)
            // "two" was taken but never written: kept again before "four", and box's node hears of it.
            var outcome: KeepOutcome?
            storeA.keep(taken[1], for: "box", force: true) { outcome = $0 }
            #expect(spin(loop) { outcome != nil && serverB.keptFor == ["box"] })
            #expect(outcome == .kept)
            taken = take(storeA, "box")
            #expect(taken.map { String(decoding: $0.payload, as: UTF8.self) } == ["two", "four"])
        }

        @Test func expiryFollowsRedisClockAndReportsEachOnce() throws {
            let (a, storeA, _) = try keptNode()
            let (b, storeB, _) = try keptNode()
            defer { b.stop() }
            var expired: [(String, String)] = []
            for store in [storeA, storeB] {
                store.onExpired = { expired.append(($0, String(decoding: $1.payload, as: UTF8.self))) }
            }
            #expect(send(a, "short", to: "box", seconds: 1) == .kept(.kept))
            #expect(send(a, "long", to: "box", seconds: 60) == .kept(.kept))
            spin(loop, for: 1.2)
            storeA.expire(now: 0)
            storeB.expire(now: 0)
            spin(loop) { expired.count == 1 && storeA.total.messages == 1 && storeB.total.messages == 1 }
            spin(loop, for: 0.2)
            #expect(expired.map { "\($0.0):\($0.1)" } == ["box:short"])
            #expect(storeB.total == KeptAmount(messages: 1, bytes: 4))
            #expect(take(storeA, "box").map { String(decoding: $0.payload, as: UTF8.self) } == ["long"])
        }

        @Test func dropRemovesOneSendersMessagesOnly() throws {
            let (a, store, _) = try keptNode()
            #expect(send(a, "from-1", to: "box", from: "p1") == .kept(.kept))
            #expect(send(a, "from-2", to: "box", from: "p2") == .kept(.kept))
            store.drop(from: "p1", to: "box")
            var refreshed = false
            store.refreshHolding(for: "box") { refreshed = true }
            spin(loop) { refreshed }
            #expect(store.holding(for: "box") == KeptAmount(messages: 1, bytes: 6))
            #expect(take(store, "box").map(\.sender) == ["p2"])
        }
    }
}
