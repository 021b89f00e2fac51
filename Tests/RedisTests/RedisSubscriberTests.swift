import Foundation
import Redis
import Testing
import UV

extension RedisServerSuite {
    /// Pub/sub: deliveries by channel and pattern, and everything subscribed again after a killed link.
    @Suite struct RedisSubscriberTests {
        final class Inbox {
            var messages: [RedisMessage] = []
            var subscribed = 0
        }

        static func subscriber(_ loop: Loop, _ server: RedisServer, _ inbox: Inbox) throws -> RedisSubscriber {
            let subscriber = try RedisSubscriber(loop: loop, url: RedisURL(host: "127.0.0.1", port: server.port))
            subscriber.onMessage = { inbox.messages.append($0) }
            subscriber.onSubscribed = { inbox.subscribed += 1 }
            return subscriber
        }

        @Test func messagesArriveByChannelAndPatternAndStopAfterUnsubscribe() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let publisher = try Link(loop, server)
            let inbox = Inbox()
            let subscriber = try Self.subscriber(loop, server, inbox)
            subscriber.subscribe([b("presence:box-1"), b("presence:box-2")])   // before the link is up
            subscriber.start()
            #expect(spin(loop) { inbox.subscribed == 1 })
            subscriber.psubscribe([b("inbox.*")])
            spin(loop, for: 0.05)

            #expect(publisher.call(loop, command("PUBLISH", "presence:box-1", "online")) == .integer(1))
            #expect(publisher.call(loop, command("PUBLISH", "inbox.node-7", "hello")) == .integer(1))
            #expect(publisher.call(loop, command("PUBLISH", "elsewhere", "nobody")) == .integer(0))
            #expect(spin(loop) { inbox.messages.count == 2 })
            #expect(inbox.messages == [RedisMessage(channel: b("presence:box-1"), payload: b("online")),
                                       RedisMessage(channel: b("inbox.node-7"), payload: b("hello"), pattern: b("inbox.*"))])

            subscriber.unsubscribe([b("presence:box-1")])
            subscriber.punsubscribe([b("inbox.*")])
            spin(loop, for: 0.05)
            #expect(publisher.call(loop, command("PUBLISH", "presence:box-1", "offline")) == .integer(0))
            #expect(publisher.call(loop, command("PUBLISH", "presence:box-2", "online")) == .integer(1))
            #expect(spin(loop) { inbox.messages.count == 3 })
            #expect(inbox.messages.last == RedisMessage(channel: b("presence:box-2"), payload: b("online")))
            #expect(subscriber.channels == [b("presence:box-2")])
            #expect(subscriber.patterns.isEmpty)
            subscriber.close()
            publisher.connection.close()
            try loop.close()
        }

        @Test func aKilledPubSubLinkIsResubscribedAndDeliveriesResume() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let admin = try Link(loop, server)
            let inbox = Inbox()
            let subscriber = try Self.subscriber(loop, server, inbox)
            var states: [RedisLinkState] = []
            subscriber.onStateChange = { states.append($0) }
            subscriber.subscribe((0..<2500).map { b("presence:box-\($0)") })   // three SUBSCRIBE commands
            subscriber.psubscribe([b("inbox.*")])
            subscriber.start()
            #expect(spin(loop) { inbox.subscribed == 1 })

            #expect(admin.call(loop, command("CLIENT", "KILL", "TYPE", "pubsub")) == .integer(1))
            #expect(spin(loop) { inbox.subscribed == 2 })
            #expect(states.count == 3 && states.first == .connected && states.last == .connected)
            #expect(admin.call(loop, command("PUBSUB", "NUMSUB", "presence:box-0", "presence:box-2499")) ==
                .array([.bulkString(b("presence:box-0")), .integer(1), .bulkString(b("presence:box-2499")), .integer(1)]))
            #expect(admin.call(loop, command("PUBSUB", "NUMPAT")) == .integer(1))
            #expect(admin.call(loop, command("PUBLISH", "presence:box-2499", "online")) == .integer(1))
            #expect(admin.call(loop, command("PUBLISH", "inbox.a", "x")) == .integer(1))
            #expect(spin(loop) { inbox.messages.count == 2 })
            #expect(inbox.messages.map(\.channel) == [b("presence:box-2499"), b("inbox.a")])
            subscriber.close()
            admin.connection.close()
            try loop.close()
        }

        @Test func anIdleSubscriberNoticesAFrozenRedisThroughItsPings() throws {
            let server = try RedisServer()
            let loop = try Loop()
            let subscriber = try RedisSubscriber(loop: loop, url: RedisURL(host: "127.0.0.1", port: server.port),
                                                 options: RedisOptions(commandTimeout: .milliseconds(500), pingInterval: .milliseconds(200)))
            var states: [RedisLinkState] = []
            subscriber.onStateChange = { states.append($0) }
            subscriber.subscribe([b("presence:box-1")])
            subscriber.start()
            #expect(spin(loop) { subscriber.isConnected })
            spin(loop, for: 0.5)   // pings answered: still up
            #expect(states == [.connected])
            server.freeze()
            #expect(spin(loop, seconds: 3) { states.count == 2 })
            #expect(states.last == .disconnected(.timedOut))
            server.thaw()
            #expect(spin(loop, seconds: 10) { subscriber.isConnected })
            subscriber.close()
            try loop.close()
        }
    }
}
